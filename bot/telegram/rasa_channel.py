"""Rasa input channel for the Telegram bridge: Rasa's REST channel behind a shared secret.

Only a request with `Authorization: Bearer <bridge secret>` is processed, and only for a sender
`telegram:<chat id>`. So no one but the bridge can post as a Telegram chat, even where Rasa is
reachable from other machines; production configurations leave the plain REST channel out."""
from __future__ import annotations

import hmac
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.bridge_secret import bridge_secret
from bot.settings import load_settings

SENDER = re.compile(r"^telegram:-?\d{1,20}$")


class TelegramBridgeInput(RestInput):
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
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def authenticate(request: Request) -> Optional[response.HTTPResponse]:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self._expected()}".encode()):
                return response.json({"error": "not authorised"}, status=401)
            if request.method == "POST":
                sender = (request.json or {}).get("sender") if isinstance(request.json, dict) else None
                if not isinstance(sender, str) or not SENDER.match(sender):
                    return response.json({"error": "sender must be telegram:<chat id>"}, status=400)
            return None

        return blueprint
