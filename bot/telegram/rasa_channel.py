"""Rasa input channel for the Telegram bridge: REST behind a shared secret.

Only a request with `Authorization: Bearer <bridge secret>` is processed, and only for a sender
`telegram:<chat id>`. So no one but the bridge can post as a Telegram chat, even where Rasa is
reachable from other machines; production configurations leave the plain REST channel out.

A turn that fails (conversation store or lock store down) answers 503 and its replies are dropped:
nothing of it was kept, so the bridge tells the parent to send the message again. Rasa's own REST
channel would answer 200 with no replies and log the parent's message at ERROR.
"""
from __future__ import annotations

import hmac
import logging
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bridge_secret import bridge_secret
from bot.replies import TRY_AGAIN
from bot.settings import load_settings
from bot.tracker_store import guard

logger = logging.getLogger(__name__)

SENDER = re.compile(r"^telegram:-?\d{1,20}$")


class TelegramBridgeInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "telegram_bridge"

    def __init__(self, secret: Optional[str] = None) -> None:
        self._secret = secret

    def _expected(self) -> str:
        if self._secret is None:
            self._secret = bridge_secret(load_settings())
        return self._secret

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("telegram_bridge_webhook", __name__)

        @blueprint.middleware("request")
        async def authenticate(request: Request) -> Optional[HTTPResponse]:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self._expected()}".encode()):
                return response.json({"error": "not authorised"}, status=401)
            return None

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not SENDER.match(sender):
                return response.json({"error": "sender must be telegram:<chat id>"}, status=400)
            if not isinstance(text, str):
                return response.json({"error": "message must be text"}, status=400)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is not None:
                guard(agent.tracker_store)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception as error:  # whatever failed, the turn was not kept: say so, never 200
                logger.error("Turn refused for a Telegram conversation: %s", type(error).__name__)
                return response.json({"error": "the assistant could not take this message now"}, status=503)
            if not collector.messages and text.strip() != "/restart":
                # An action failed and Rasa carried on without it: its events were dropped, so the
                # same message sent again is taken afresh.
                logger.error("A turn of a Telegram conversation produced no reply; the parent is asked to send it again")
                return response.json([{"recipient_id": sender, "text": TRY_AGAIN}])
            return response.json(collector.messages)

        return blueprint
