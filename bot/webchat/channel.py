"""Rasa input channel for the web chat widget: Rasa's socket.io channel, made safe for the open web.

Differences from Rasa's own `socketio` channel:
- only the origins in WEBCHAT_ALLOWED_ORIGINS may connect (Rasa's allows any);
- a session id must be 32 hex characters (the widget makes them with crypto.randomUUID), and the
  conversation is `web:<session id>`, so a web visitor can never post as a Telegram chat;
- messages longer than the widget's 2,000 characters are refused with a reply, not processed;
- a turn that fails (conversation store or lock store down), or that ends with no reply at all (an
  action failed and Rasa carried on without it), is answered with "please send it again".
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.replies import expects_reply, no_reply, try_again
from bot.settings import load_settings
from bot.signpost import signpost_for
from bot.tracker_store import guard_on_start

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_MESSAGE = 2000
TOO_LONG = "That message is too long for me: please keep it under 2,000 characters."


class _CountingOutput(SocketIOOutput):
    """Rasa's socket.io output, remembering whether the turn said anything at all."""

    sent = 0

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)


def conversation_id(session_id: str) -> str:
    return f"web:{session_id}"


class WebchatInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(allowed_origins=load_settings().webchat_allowed_origins)

    def __init__(self, allowed_origins: List[str]) -> None:
        self.allowed_origins = allowed_origins
        self.sio: Optional[AsyncServer] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        return SocketIOOutput(self.sio, "bot_uttered") if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.allowed_origins)
        self.sio = sio
        webhook = SocketBlueprint(sio, "/socket.io", "webchat_webhook", __name__)
        guard_on_start(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("session_request")
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            session_id = (data or {}).get("session_id")
            if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
                await sio.emit("session_rejected", "session ids are 32 hex characters", room=sid)
                return
            await sio.save_session(sid, {"session_id": session_id})
            await sio.enter_room(sid, conversation_id(session_id))
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on("user_uttered")
        async def handle_message(sid: Text, data: Any) -> None:
            session_id = (await sio.get_session(sid)).get("session_id")
            text = data.get("message") if isinstance(data, dict) else None
            if not session_id or not isinstance(text, str):
                return  # no session yet: the widget always asks for one first
            output = _CountingOutput(sio, "bot_uttered")
            sender = conversation_id(session_id)
            if len(text) > MAX_MESSAGE:
                await output.send_text_message(sender, TOO_LONG)
                return
            message_id = uuid.uuid4().hex
            try:
                await on_new_message(UserMessage(text, output, sender, input_channel=self.name(), message_id=message_id))
            except Exception as error:  # the turn was not kept (store or lock down): never pretend it was
                logger.error("Turn refused for a web conversation: %s", type(error).__name__)
                await output.send_text_message(sender, try_again())
                return
            if not output.sent and expects_reply(text):  # mostly an action failed and Rasa carried on without it: never leave them hanging
                logger.warning("A turn of a web conversation produced no reply; asking for the message again")
                await output.send_text_message(sender, no_reply())
            line = signpost_for(message_id)
            if line:
                await output.send_text_message(sender, line)

        return webhook
