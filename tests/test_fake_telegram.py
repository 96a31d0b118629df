"""Proves tests/fakes/telegram_api.FakeTelegram works with real python-telegram-bot."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456:TEST-token"
CHAT = 555001


@pytest.fixture
def fake():
    server = FakeTelegram()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> telegram.Bot:
    return telegram.Bot(token=token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def raw_post(url: str, body: bytes, content_type: str) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type},
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.asyncio
async def test_get_me(fake):
    async with make_bot(fake) as bot:
        me = await bot.get_me()
    assert me.id == 7000001
    assert me.is_bot is True
    assert me.first_name == "COSP test bot"
    assert me.username == "cosp_test_bot"
    assert me.supports_inline_queries is False
    assert me.can_connect_to_business is False
    assert me.has_main_web_app is False
    assert fake.calls("getMe")


@pytest.mark.asyncio
async def test_send_message_records_decoded_keyboard(fake):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes"),
                                      InlineKeyboardButton("No", callback_data="no")]])
    async with make_bot(fake) as bot:
        m1 = await bot.send_message(CHAT, "Question?", reply_markup=keyboard)
        m2 = await bot.send_message(CHAT, "42")
        other = await bot.send_message(CHAT + 1, "elsewhere")
    assert (m1.message_id, m2.message_id, other.message_id) == (1, 2, 1)
    assert m1.chat.id == CHAT and m1.from_user.id == 7000001 and m1.date is not None
    assert m1.reply_markup == keyboard
    sent = fake.sent(CHAT)
    assert [s["text"] for s in sent] == ["Question?", "42"]  # "42" stays a string
    assert sent[0]["chat_id"] == CHAT
    assert sent[0]["message_id"] == 1
    assert sent[0]["reply_markup"] == {"inline_keyboard": [[
        {"text": "Yes", "callback_data": "yes"}, {"text": "No", "callback_data": "no"}]]}
    assert len(fake.sent()) == 3
    assert fake.wait_for_sent(CHAT, lambda text, msg: text == "42", timeout=1)["message_id"] == 2


@pytest.mark.asyncio
async def test_get_updates_offset_and_long_poll(fake):
    async with make_bot(fake) as bot:
        uid = fake.push_message(CHAT, "hello", first_name="Ann")
        updates = await bot.get_updates(offset=0, timeout=1)
        assert [u.update_id for u in updates] == [uid]
        msg = updates[0].message
        assert msg.text == "hello" and msg.chat.id == CHAT and msg.from_user.first_name == "Ann"
        assert msg.chat.type == "private" and msg.from_user.id == CHAT

        # Not confirmed yet: delivered again.
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [uid]

        # Confirmed by offset: dropped.
        assert await bot.get_updates(offset=uid + 1, timeout=0) == ()
        assert fake.pending_updates() == []

        # A long poll waiting on an empty queue is answered by a push from another thread, long
        # before its own timeout would end it (the guard below is 60 s, the poll's 600 s).
        polls = len(fake.calls("getUpdates"))
        poll = asyncio.create_task(bot.get_updates(offset=uid + 1, timeout=600))
        while len(fake.calls("getUpdates")) == polls:
            await asyncio.sleep(0.01)
        threading.Thread(target=fake.push_message, args=(CHAT, "/start")).start()
        updates = await asyncio.wait_for(poll, 60)
        assert updates[0].message.text == "/start"
        assert updates[0].message.entities[0].type == "bot_command"

        # limit, and raw updates pushed as-is (duplicates included).
        raw = {"update_id": 900, "message": fake.build_message(CHAT, "dup")}
        fake.push_update(raw)
        fake.push_update(raw)
        ups = await bot.get_updates(offset=updates[0].update_id + 1, limit=1, timeout=0)
        assert [u.update_id for u in ups] == [900]
        ups = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
        assert [u.update_id for u in ups] == [900, 900]
        assert fake.push_message(CHAT, "next") == 901


@pytest.mark.asyncio
async def test_fail_next_429_and_500(fake):
    async with make_bot(fake) as bot:
        fake.fail_next("sendMessage", 429, 1, retry_after=1)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(CHAT, "one")
        assert "retry" in str(info.value).lower()
        assert fake.sent() == []
        await bot.send_message(CHAT, "two")
        assert [s["text"] for s in fake.sent()] == ["two"]
        assert fake.sent()[0]["message_id"] == 1

        fake.fail_next("sendMessage", 500, 2)
        for _ in range(2):
            with pytest.raises((NetworkError, TelegramError)):
                await bot.send_message(CHAT, "three")
        assert [s["text"] for s in fake.sent()] == ["two"]
        assert len(fake.calls("sendMessage")) == 4
        assert len(fake.calls("sendmessage", include_failed=False)) == 1


@pytest.mark.asyncio
async def test_wrong_token_and_unknown_method(fake):
    bot = telegram.Bot(token="not-a-valid-token", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await bot.get_me()
    status, body = raw_post(f"{fake.base_url}{TOKEN}/noSuchMethod", b"{}", "application/json")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = raw_post(f"{fake.base_url}abc/getMe", b"{}", "application/json")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


def test_json_and_form_bodies_decode_json_strings(fake):
    url = f"{fake.base_url}{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    status, body = raw_post(url, json.dumps(
        {"chat_id": "77", "text": "json", "reply_markup": json.dumps(markup)}).encode(),
        "application/json")
    assert status == 200 and body["result"]["reply_markup"] == markup
    form = urllib.parse.urlencode({"chat_id": 77, "text": "form", "reply_markup": json.dumps(markup)})
    status, body = raw_post(url, form.encode(), "application/x-www-form-urlencoded")
    assert status == 200 and body["result"]["message_id"] == 2
    boundary = "XyZ"
    parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                    for k, v in {"chat_id": "77", "text": "multi",
                                 "reply_markup": json.dumps(markup)}.items())
    status, body = raw_post(url, (parts + f"--{boundary}--\r\n").encode(),
                            f"multipart/form-data; boundary={boundary}")
    assert status == 200
    assert [(s["chat_id"], s["text"], s["reply_markup"]) for s in fake.sent(77)] == [
        (77, "json", markup), (77, "form", markup), (77, "multi", markup)]
    status, body = raw_post(f"{fake.base_url}{TOKEN}/getUpdates",
                            b'{"allowed_updates": "[\\"message\\"]", "timeout": 0}',
                            "application/json")
    assert status == 200 and body["result"] == []
    assert fake.calls("getUpdates")[0]["allowed_updates"] == ["message"]


@pytest.mark.asyncio
async def test_callbacks_edits_webhook_and_commands(fake):
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    async with make_bot(fake) as bot:
        sent = await bot.send_message(CHAT, "Pick", reply_markup=kb)
        cq_id = fake.push_callback(CHAT, sent.message_id, "go")
        (update,) = await bot.get_updates(timeout=0)
        cq = update.callback_query
        assert cq.id == cq_id and cq.data == "go" and cq.chat_instance
        assert cq.from_user.id == CHAT and cq.message.message_id == sent.message_id
        assert cq.message.reply_markup == kb
        assert await bot.answer_callback_query(cq_id, text="ok") is True
        assert fake.calls("answerCallbackQuery")[0]["text"] == "ok"
        with pytest.raises(telegram.error.BadRequest):
            await bot.answer_callback_query("nope")

        edited = await bot.edit_message_text("Picked", chat_id=CHAT, message_id=sent.message_id)
        assert edited.text == "Picked" and edited.reply_markup is None
        with pytest.raises(telegram.error.BadRequest, match="not modified"):
            await bot.edit_message_text("Picked", chat_id=CHAT, message_id=sent.message_id)
        edited = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=kb)
        assert edited.reply_markup == kb
        with pytest.raises(KeyError):
            fake.push_callback(CHAT, 999, "x")

        assert await bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")
        assert fake.webhook["url"] == "https://example.invalid/hook"
        assert fake.webhook["secret_token"] == "s3cret"
        assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
        with pytest.raises(telegram.error.Conflict):
            await bot.get_updates(timeout=0)
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""

        assert await bot.set_my_commands([("start", "Start"), ("help", "Help")])
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
        assert await bot.send_chat_action(CHAT, "typing")


def test_post_webhook_update(fake):
    received: list[tuple[dict, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            secret = self.headers.get("X-Telegram-Bot-Api-Secret-Token")
            received.append((body, secret))
            self.send_response(200 if secret == "s3cret" else 403)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        update = {"update_id": 5, "message": fake.build_message(CHAT, "via webhook")}
        assert fake.post_webhook_update(url, update, secret_token="s3cret") == 200
        assert fake.post_webhook_update(url, update) == 403
    finally:
        server.shutdown()
        server.server_close()
    assert received[0] == (update, "s3cret")
    assert received[1][1] is None


@pytest.mark.asyncio
async def test_application_echo_over_polling(fake):
    async def echo(update: Update, context) -> None:
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}",
                                                  do_quote=True)

    async def start(update: Update, context) -> None:
        await update.effective_chat.send_message(
            "welcome", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Press", callback_data="pressed")]]))

    async def pressed(update: Update, context) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"you pressed {update.callback_query.data}")

    application = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
                   .base_file_url(fake.base_file_url).build())
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.1, timeout=1)
    try:
        fake.push_message(CHAT, "hi there")
        msg = await asyncio.to_thread(fake.wait_for_sent, CHAT,
                                      lambda text, m: text == "echo: hi there", 10)
        assert msg["reply_parameters"]["message_id"] == 1  # quotes the user message
        bot_msg = fake.message(CHAT, msg["message_id"])
        assert bot_msg["reply_to_message"]["text"] == "hi there"

        fake.push_message(CHAT, "/start")
        welcome = await fake.await_sent(CHAT, lambda text, m: text == "welcome", 10)
        fake.push_callback(CHAT, welcome["message_id"], "pressed")
        for _ in range(100):
            if fake.calls("editMessageText"):
                break
            await asyncio.sleep(0.05)
        assert fake.calls("editMessageText")[0]["text"] == "you pressed pressed"
        assert fake.message(CHAT, welcome["message_id"])["text"] == "you pressed pressed"
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert fake.calls("deleteWebhook")
    assert fake.pending_updates() == []
