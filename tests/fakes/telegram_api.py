"""A fake Telegram Bot API HTTP server for tests.

The server is an aiohttp app running in a background thread with its own event
loop, so it can be driven from plain synchronous pytest code while the bot under
test talks to it over real HTTP (``ApplicationBuilder().base_url(fake.base_url)``).

Requests arrive at ``/bot<TOKEN>/<method>``.  python-telegram-bot 22.x
(``HTTPXRequest``) sends ``application/x-www-form-urlencoded`` bodies (or
``multipart/form-data`` when files are uploaded) where every non-string value is
JSON-encoded (``chat_id=123``, ``reply_markup={"inline_keyboard": ...}``).  The
fake also accepts JSON bodies and query strings, and decodes JSON-encoded string
values either way.

Typical use::

    fake = FakeTelegram()
    fake.start()
    app = ApplicationBuilder().token("123:abc").base_url(fake.base_url) \\
        .base_file_url(fake.base_file_url).build()
    ...
    fake.push_message(42, "/start")
    msg = fake.wait_for_sent(42, lambda text, m: "Welcome" in text)
    fake.stop()
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from typing import Any, Callable, Optional

from aiohttp import web

__all__ = ["FakeTelegram", "BOT_USER", "TOKEN_RE"]

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

BOT_USER: dict[str, Any] = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "COSP test bot",
    "username": "cosp_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}

# Update types Telegram delivers when allowed_updates was never set / set to [].
_DEFAULT_EXCLUDED_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}

# Parameters that are plain strings and must never be JSON-decoded, even if they
# happen to look like a number ("text=42") or JSON.
_STRING_PARAMS = {
    "text",
    "caption",
    "data",
    "url",
    "secret_token",
    "callback_query_id",
    "inline_query_id",
    "inline_message_id",
    "parse_mode",
    "action",
    "language_code",
    "ip_address",
    "business_connection_id",
    "message_effect_id",
    "description",
    "short_description",
    "name",
    "title",
    "query",
    "emoji",
    "sticker",
    "photo",
    "document",
    "audio",
    "video",
    "voice",
    "animation",
    "file_id",
    "certificate",
    "thumbnail",
    "address",
    "phone_number",
    "first_name",
    "last_name",
    "question",
    "explanation",
}

_DEFAULT_GROUP_USER_ID = 424242


def _decode_value(key: str, value: Any) -> Any:
    """Decode a JSON-encoded string value (PTB JSON-encodes every non-string value)."""
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    stripped = value.strip()
    if not stripped:
        return value
    if stripped[0] in "{[" or stripped in ("true", "false", "null") or re.fullmatch(
        r"-?\d+(\.\d+)?([eE][-+]?\d+)?", stripped
    ):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _as_chat_key(chat_id: Any) -> Any:
    """Normalise a chat id so that 123 and "123" are the same key."""
    if isinstance(chat_id, bool):
        return chat_id
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id.strip()):
        return int(chat_id)
    return chat_id


def _update_type(update: dict) -> Optional[str]:
    for key in update:
        if key != "update_id":
            return key
    return None


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: Optional[dict] = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _error_payload(status: int, description: Optional[str] = None,
                   retry_after: Optional[int] = None) -> dict:
    if description is None:
        if status == 429:
            description = f"Too Many Requests: retry after {retry_after}"
        elif status == 401:
            description = "Unauthorized"
        elif status == 404:
            description = "Not Found"
        elif status == 400:
            description = "Bad Request"
        elif status == 403:
            description = "Forbidden: bot was blocked by the user"
        elif status == 409:
            description = "Conflict"
        else:
            try:
                description = HTTPStatus(status).phrase
            except ValueError:
                description = "Error"
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if status == 429:
        payload["parameters"] = {"retry_after": retry_after}
    return payload


class FakeTelegram:
    """Fake Telegram Bot API server.  All public helpers are thread-safe."""

    def __init__(self, *, bot_user: Optional[dict] = None, not_modified_errors: bool = True,
                 host: str = "127.0.0.1", port: int = 0):
        self.bot_user: dict[str, Any] = dict(BOT_USER, **(bot_user or {}))
        #: When True, editing a message to identical text/markup answers 400
        #: "Bad Request: message is not modified" like the real API.
        self.not_modified_errors = not_modified_errors
        self.host = host
        self._requested_port = port
        self.port: Optional[int] = None

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)

        self._updates: list[dict] = []
        self._next_update_id = 1
        self._allowed_updates: Optional[list[str]] = None
        self._msg_counters: dict[Any, int] = {}
        self._messages: dict[tuple[Any, int], dict] = {}
        self._chats: dict[Any, dict] = {}
        self._calls: list[tuple[str, dict, bool]] = []  # (method, params, failed)
        self._sent: list[dict] = []
        self._failures: dict[str, list[tuple[int, Optional[int], Optional[str]]]] = {}
        self._callback_ids: set[str] = set()
        self._next_callback = 1
        self._webhook: dict[str, Any] = {}
        self._commands: dict[str, list] = {}
        self._custom: dict[str, Callable[[dict], Any]] = {}

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        self._update_event: Optional[asyncio.Event] = None
        self._closing = False

        self._handlers: dict[str, Callable[[dict], Any]] = {
            "getme": self._h_get_me,
            "getupdates": self._h_get_updates,  # async
            "sendmessage": self._h_send_message,
            "editmessagetext": self._h_edit_message_text,
            "editmessagereplymarkup": self._h_edit_message_reply_markup,
            "answercallbackquery": self._h_answer_callback_query,
            "deletewebhook": self._h_delete_webhook,
            "setwebhook": self._h_set_webhook,
            "getwebhookinfo": self._h_get_webhook_info,
            "setmycommands": self._h_set_my_commands,
            "getmycommands": self._h_get_my_commands,
            "deletemycommands": self._h_delete_my_commands,
            "close": lambda p: True,
            "logout": lambda p: True,
            "sendchataction": lambda p: True,
            "deletemessage": self._h_delete_message,
        }

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        self._require_started()
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        self._require_started()
        return f"http://{self.host}:{self.port}/file/bot"

    def _require_started(self) -> None:
        if self.port is None:
            raise RuntimeError("FakeTelegram is not started; call start() first")

    def start(self) -> "FakeTelegram":
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        ready = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._astart())
            except BaseException as exc:  # pragma: no cover - startup failure
                error.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._astop())
                loop.close()

        self._closing = False
        self._thread = threading.Thread(target=run, name="FakeTelegram", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeTelegram did not start within 10 s")
        if error:
            self._thread = None
            raise error[0]
        return self

    async def _astart(self) -> None:
        self._update_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def _astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._closing = True
        loop.call_soon_threadsafe(self._wake)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        self._thread = None
        self._loop = None
        self.port = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _wake(self) -> None:
        # Runs in the server loop: release every pending long poll.
        if self._update_event is not None:
            self._update_event.set()
            self._update_event = asyncio.Event()

    def _notify_updates(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:
                pass

    # -------------------------------------------------------------- HTTP plumbing
    async def _dispatch(self, request: web.Request) -> web.Response:
        path = request.path
        m = re.fullmatch(r"/file/bot([^/]*)/(.*)", path)
        if m:
            if not TOKEN_RE.match(m.group(1)):
                return web.json_response(_error_payload(401), status=401)
            return web.json_response(_error_payload(404), status=404)
        m = re.fullmatch(r"/bot([^/]*)/([^/]+)/?", path)
        if not m:
            return web.json_response(_error_payload(404), status=404)
        token, method = m.group(1), m.group(2)
        if not TOKEN_RE.match(token):
            return web.json_response(_error_payload(401), status=401)
        try:
            params = await self._read_params(request)
        except ValueError as exc:
            return web.json_response(_error_payload(400, f"Bad Request: {exc}"), status=400)

        key = method.lower()
        canonical = method
        with self._lock:
            handler = self._custom.get(key) or self._handlers.get(key)
            failure = None
            queue = self._failures.get(key)
            if queue:
                failure = queue.pop(0)
            self._calls.append((canonical, params, failure is not None or handler is None))
        if handler is None:
            return web.json_response(_error_payload(404), status=404)
        if failure is not None:
            status, retry_after, description = failure
            return web.json_response(_error_payload(status, description, retry_after), status=status)
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except _ApiError as err:
            payload = _error_payload(err.status, err.description)
            if err.parameters:
                payload["parameters"] = err.parameters
            return web.json_response(payload, status=err.status)
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict:
        raw: dict[str, Any] = {k: v for k, v in request.query.items()}
        ctype = request.content_type or ""
        if request.can_read_body:
            if ctype == "application/json":
                body = await request.read()
                if body.strip():
                    try:
                        data = json.loads(body)
                    except ValueError as exc:
                        raise ValueError(f"can't parse JSON body: {exc}") from exc
                    if not isinstance(data, dict):
                        raise ValueError("JSON body must be an object")
                    raw.update(data)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for k, v in form.items():
                    if isinstance(v, web.FileField):
                        raw[k] = {
                            "filename": v.filename,
                            "content_type": v.content_type,
                            "data": v.file.read(),
                        }
                    else:
                        raw[k] = v
            else:
                body = await request.read()
                if body.strip():
                    try:
                        data = json.loads(body)
                        if isinstance(data, dict):
                            raw.update(data)
                    except ValueError:
                        pass
        return {k: _decode_value(k, v) for k, v in raw.items()}

    # ------------------------------------------------------------ object builders
    def _chat_for(self, chat_id: Any) -> dict:
        key = _as_chat_key(chat_id)
        chat = self._chats.get(key)
        if chat is None:
            if isinstance(key, int) and key > 0:
                chat = {"id": key, "type": "private", "first_name": "Test"}
            elif isinstance(key, int):
                chat = {"id": key, "type": "supergroup" if str(key).startswith("-100") else "group",
                        "title": "Test group"}
            else:  # "@channelusername"
                chat = {"id": -1001000000001, "type": "channel", "title": str(key),
                        "username": str(key).lstrip("@")}
            self._chats[key] = chat
        return dict(chat)

    def _next_message_id(self, chat_key: Any) -> int:
        n = self._msg_counters.get(chat_key, 0) + 1
        self._msg_counters[chat_key] = n
        return n

    def _new_update_id(self) -> int:
        uid = self._next_update_id
        self._next_update_id += 1
        return uid

    def _user(self, user_id: int, first_name: str) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}

    def build_message(self, chat_id: int, text: str, *, user_id: Optional[int] = None,
                      chat_type: str = "private", first_name: str = "Test",
                      message_id: Optional[int] = None) -> dict:
        """Build (and remember) a user Message dict without queueing it.

        Useful with :meth:`push_update`, e.g.
        ``fake.push_update({"edited_message": fake.build_message(1, "hi")})``.
        Bot commands at the start of ``text`` get a ``bot_command`` entity like
        real Telegram sends (CommandHandler needs it).
        """
        with self._lock:
            key = _as_chat_key(chat_id)
            if chat_type == "private":
                chat = {"id": key, "type": "private", "first_name": first_name}
            else:
                chat = {"id": key, "type": chat_type, "title": "Test group"}
            self._chats[key] = chat
            if user_id is None:
                user_id = key if chat_type == "private" and isinstance(key, int) else _DEFAULT_GROUP_USER_ID
            if message_id is None:
                message_id = self._next_message_id(key)
            else:
                self._msg_counters[key] = max(self._msg_counters.get(key, 0), message_id)
            msg: dict[str, Any] = {
                "message_id": message_id,
                "from": self._user(user_id, first_name),
                "chat": dict(chat),
                "date": int(time.time()),
                "text": text,
            }
            cmd = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text or "")
            if cmd:
                msg["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(cmd.group(0).encode("utf-16-le")) // 2}]
            self._messages[(key, message_id)] = msg
            return copy.deepcopy(msg)

    # --------------------------------------------------------------- test helpers
    def push_update(self, update: Any) -> int:
        """Queue any update dict as is (an ``update_id`` is assigned if missing).

        A ``telegram.Update`` object is accepted too.  Returns the update_id.
        Note: an update whose update_id is below an offset the bot has already
        confirmed will never be delivered by getUpdates (as in real Telegram).
        """
        if hasattr(update, "to_dict"):
            update = update.to_dict()
        update = copy.deepcopy(update)
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = self._new_update_id()
            else:
                self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            cq = update.get("callback_query")
            if isinstance(cq, dict) and "id" in cq:
                self._callback_ids.add(str(cq["id"]))
            self._updates.append(update)
            self._cond.notify_all()
        self._notify_updates()
        return update["update_id"]

    def push_message(self, chat_id: int, text: str, *, user_id: Optional[int] = None,
                     chat_type: str = "private", first_name: str = "Test",
                     update_id: Optional[int] = None) -> int:
        """Queue a ``message`` update from a user; returns its update_id."""
        msg = self.build_message(chat_id, text, user_id=user_id, chat_type=chat_type,
                                 first_name=first_name)
        update: dict[str, Any] = {"message": msg}
        if update_id is not None:
            update["update_id"] = update_id
        return self.push_update(update)

    def push_callback(self, chat_id: int, message_id: int, data: str, *,
                      user_id: Optional[int] = None, first_name: str = "Test") -> str:
        """Queue a callback_query pressed on the bot's message ``message_id`` in ``chat_id``.

        The callback's ``message`` is the bot message in its current (possibly
        edited) state.  Returns the callback query id.  Raises KeyError if the
        bot never sent that message.
        """
        with self._lock:
            key = _as_chat_key(chat_id)
            msg = self._messages.get((key, message_id))
            if msg is None or msg.get("from", {}).get("id") != self.bot_user["id"]:
                raise KeyError(f"bot sent no message {message_id} in chat {chat_id}")
            chat = self._chat_for(key)
            if user_id is None:
                user_id = key if chat.get("type") == "private" and isinstance(key, int) \
                    else _DEFAULT_GROUP_USER_ID
            cq_id = str(4000000000000000000 + self._next_callback)
            self._next_callback += 1
            update = {
                "callback_query": {
                    "id": cq_id,
                    "from": self._user(user_id, first_name),
                    "chat_instance": str(abs(hash(("chat_instance", key))) % 10**18),
                    "data": data,
                    "message": copy.deepcopy(msg),
                }
            }
        self.push_update(update)
        return cq_id

    def sent(self, chat_id: Any = None) -> list[dict]:
        """sendMessage calls answered successfully: their parameters plus ``message_id``."""
        with self._lock:
            items = self._sent
            if chat_id is not None:
                key = _as_chat_key(chat_id)
                items = [s for s in items if _as_chat_key(s.get("chat_id")) == key]
            return copy.deepcopy(items)

    def sent_texts(self, chat_id: Any = None) -> list[str]:
        return [s.get("text", "") for s in self.sent(chat_id)]

    def calls(self, method: str, *, include_failed: bool = True) -> list[dict]:
        """Parameters of every request to ``method`` (case-insensitive), oldest first.

        Includes requests answered with an injected failure (fail_next) unless
        ``include_failed=False``.
        """
        key = method.lower()
        with self._lock:
            return [copy.deepcopy(p) for (m, p, failed) in self._calls
                    if m.lower() == key and (include_failed or not failed)]

    def _find_sent(self, chat_id: Any, predicate: Optional[Callable[[str, dict], bool]],
                   start: int) -> Optional[dict]:
        key = _as_chat_key(chat_id)
        matches = [s for s in self._sent if _as_chat_key(s.get("chat_id")) == key]
        for msg in matches[start:]:
            if predicate is None or predicate(msg.get("text", ""), msg):
                return copy.deepcopy(msg)
        return None

    def wait_for_sent(self, chat_id: Any, predicate: Optional[Callable[[str, dict], bool]] = None,
                      timeout: float = 30, *, start: int = 0) -> dict:
        """Block until a message sent to ``chat_id`` satisfies ``predicate(text, msg)``.

        ``start`` skips the first N messages sent to that chat (e.g.
        ``start=len(fake.sent(chat))`` to wait for a *new* message).  Raises
        AssertionError (listing what was sent) on timeout.  Do not call this
        from the event loop the bot runs on -- use :meth:`await_sent` there.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find_sent(chat_id, predicate, start)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [s.get("text") for s in self._sent
                             if _as_chat_key(s.get("chat_id")) == _as_chat_key(chat_id)]
                    raise AssertionError(
                        f"no matching message sent to chat {chat_id} within {timeout}s; "
                        f"sent so far: {texts!r}")
                self._cond.wait(min(remaining, 0.1))

    async def await_sent(self, chat_id: Any, predicate: Optional[Callable[[str, dict], bool]] = None,
                         timeout: float = 30, *, start: int = 0) -> dict:
        """Async twin of :meth:`wait_for_sent` that does not block the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._find_sent(chat_id, predicate, start)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                return self.wait_for_sent(chat_id, predicate, 0, start=start)  # raises
            await asyncio.sleep(0.02)

    def fail_next(self, method: str, status: int, count: int = 1,
                  retry_after: Optional[int] = None, description: Optional[str] = None) -> None:
        """Make the next ``count`` calls of ``method`` answer HTTP ``status``.

        429 answers carry ``parameters.retry_after`` (default 1).  Failed calls
        have no side effects (a failed sendMessage is not recorded as sent).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend(
                [(status, retry_after, description)] * count)

    def on(self, method: str, handler: Callable[[dict], Any]) -> None:
        """Override/add a method: ``handler(params)`` returns the ``result`` or raises."""
        with self._lock:
            self._custom[method.lower()] = handler

    def pending_updates(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._updates)

    def message(self, chat_id: Any, message_id: int) -> Optional[dict]:
        """Current state of a stored message (bot or user) or None."""
        with self._lock:
            msg = self._messages.get((_as_chat_key(chat_id), message_id))
            return copy.deepcopy(msg) if msg else None

    @property
    def webhook(self) -> dict:
        with self._lock:
            return dict(self._webhook)

    def commands(self, scope: Optional[dict] = None, language_code: str = "") -> list:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def reset(self) -> None:
        """Forget recorded calls, sent messages, queued updates and failures."""
        with self._lock:
            self._updates.clear()
            self._calls.clear()
            self._sent.clear()
            self._failures.clear()
            self._custom.clear()
            self._webhook.clear()
            self._commands.clear()

    def post_webhook_update(self, url: str, update: Any,
                            secret_token: Optional[str] = None, timeout: float = 10) -> int:
        """POST ``update`` as JSON to a bot's webhook ``url``; returns the HTTP status."""
        if hasattr(update, "to_dict"):
            update = update.to_dict()
        update = dict(update)
        if "update_id" not in update:
            with self._lock:
                update["update_id"] = self._new_update_id()
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        req = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # ------------------------------------------------------------- API handlers
    def _h_get_me(self, params: dict) -> dict:
        return dict(self.bot_user)

    def _allowed(self, update: dict) -> bool:
        utype = _update_type(update)
        allowed = self._allowed_updates
        if not allowed:
            return utype not in _DEFAULT_EXCLUDED_UPDATES
        return utype in allowed

    def _take_updates(self, offset: int, limit: int) -> list[dict]:
        with self._lock:
            if offset < 0:
                self._updates = self._updates[offset:]
            elif offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._updates = [u for u in self._updates if self._allowed(u)]
            return copy.deepcopy(self._updates[:limit])

    async def _h_get_updates(self, params: dict) -> list[dict]:
        with self._lock:
            if self._webhook.get("url"):
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                     "active; use deleteWebhook to delete the webhook first")
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                self._allowed_updates = list(params["allowed_updates"])
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = self._take_updates(offset, limit)
            remaining = deadline - loop.time()
            if result or remaining <= 0 or self._closing:
                return result
            event = self._update_event
            assert event is not None
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _reply_to(self, key: Any, params: dict) -> Optional[dict]:
        reply_id = params.get("reply_to_message_id")
        rp = params.get("reply_parameters")
        if isinstance(rp, dict):
            reply_id = rp.get("message_id", reply_id)
        if reply_id is None:
            return None
        msg = self._messages.get((key, int(reply_id)))
        if msg is None:
            if isinstance(rp, dict) and rp.get("allow_sending_without_reply"):
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        reply = copy.deepcopy(msg)
        reply.pop("reply_to_message", None)
        return reply

    def _h_send_message(self, params: dict) -> dict:
        chat_id = params.get("chat_id")
        text = params.get("text")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if text is None or str(text).strip() == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(str(text)) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        with self._lock:
            key = _as_chat_key(chat_id)
            chat = self._chat_for(key)
            reply = self._reply_to(key, params)
            message_id = self._next_message_id(key)
            msg: dict[str, Any] = {
                "message_id": message_id,
                "from": dict(self.bot_user),
                "chat": chat,
                "date": int(time.time()),
                "text": str(text),
            }
            if params.get("message_thread_id") is not None:
                msg["message_thread_id"] = params["message_thread_id"]
            if isinstance(params.get("entities"), list):
                msg["entities"] = params["entities"]
            markup = params.get("reply_markup")
            # Only inline keyboards are part of a Message object.
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                msg["reply_markup"] = markup
            if reply is not None:
                msg["reply_to_message"] = reply
            self._messages[(key, message_id)] = msg
            record = copy.deepcopy(params)
            record["message_id"] = message_id
            self._sent.append(record)
            self._cond.notify_all()
            return copy.deepcopy(msg)

    def _editable(self, params: dict) -> Optional[dict]:
        if params.get("inline_message_id"):
            return None
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id is None or message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        msg = self._messages.get((_as_chat_key(chat_id), int(message_id)))
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return msg

    def _h_edit_message_text(self, params: dict) -> Any:
        text = params.get("text")
        if text is None or str(text).strip() == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        with self._lock:
            msg = self._editable(params)
            if msg is None:
                return True
            markup = params.get("reply_markup")
            new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
            if (self.not_modified_errors and msg.get("text") == str(text)
                    and msg.get("reply_markup") == new_markup):
                raise _ApiError(400, "Bad Request: message is not modified: specified new "
                                     "message content and reply markup are exactly the same as "
                                     "a current content and reply markup of the message")
            msg["text"] = str(text)
            msg["edit_date"] = int(time.time())
            if isinstance(params.get("entities"), list):
                msg["entities"] = params["entities"]
            else:
                msg.pop("entities", None)
            # Like the real API: omitting reply_markup removes the inline keyboard.
            if new_markup is None:
                msg.pop("reply_markup", None)
            else:
                msg["reply_markup"] = new_markup
            self._cond.notify_all()
            return copy.deepcopy(msg)

    def _h_edit_message_reply_markup(self, params: dict) -> Any:
        with self._lock:
            msg = self._editable(params)
            if msg is None:
                return True
            markup = params.get("reply_markup")
            new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup \
                and markup["inline_keyboard"] else None
            if self.not_modified_errors and msg.get("reply_markup") == new_markup:
                raise _ApiError(400, "Bad Request: message is not modified: specified new "
                                     "message content and reply markup are exactly the same as "
                                     "a current content and reply markup of the message")
            if new_markup is None:
                msg.pop("reply_markup", None)
            else:
                msg["reply_markup"] = new_markup
            msg["edit_date"] = int(time.time())
            return copy.deepcopy(msg)

    def _h_delete_message(self, params: dict) -> bool:
        with self._lock:
            key = (_as_chat_key(params.get("chat_id")), int(params.get("message_id") or 0))
            if self._messages.pop(key, None) is None:
                raise _ApiError(400, "Bad Request: message to delete not found")
            return True

    def _h_answer_callback_query(self, params: dict) -> bool:
        cq_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if cq_id not in self._callback_ids:
                raise _ApiError(400, "Bad Request: query is too old and response timeout "
                                     "expired or query ID is invalid")
        return True

    def _h_set_webhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        with self._lock:
            if params.get("drop_pending_updates"):
                self._updates.clear()
            if not url:
                self._webhook.clear()
                return True
            if not str(url).startswith("https://") and not str(url).startswith("http://"):
                raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided "
                                     "for webhook")
            self._webhook = {k: v for k, v in params.items()
                             if k in ("url", "secret_token", "allowed_updates", "max_connections",
                                      "ip_address", "drop_pending_updates")}
            if params.get("allowed_updates") is not None:
                self._allowed_updates = list(params["allowed_updates"])
        return True

    def _h_delete_webhook(self, params: dict) -> bool:
        with self._lock:
            self._webhook.clear()
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _h_get_webhook_info(self, params: dict) -> dict:
        with self._lock:
            info: dict[str, Any] = {
                "url": self._webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook.get("max_connections") is not None:
                info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("ip_address"):
                info["ip_address"] = self._webhook["ip_address"]
            if self._webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self._webhook["allowed_updates"]
            return info

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        if not isinstance(scope, dict):
            scope = {"type": "default"}
        return json.dumps([scope, language_code or ""], sort_keys=True)

    def _h_set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}",
                                                             str(cmd.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not str(cmd.get("description", "")).strip():
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[self._commands_key(params.get("scope"), params.get("language_code"))] = \
                copy.deepcopy(commands)
        return True

    def _h_get_my_commands(self, params: dict) -> list:
        with self._lock:
            return copy.deepcopy(self._commands.get(
                self._commands_key(params.get("scope"), params.get("language_code")), []))

    def _h_delete_my_commands(self, params: dict) -> bool:
        with self._lock:
            self._commands.pop(self._commands_key(params.get("scope"),
                                                  params.get("language_code")), None)
        return True
