"""Rasa input channel for the Telegram bridge: REST (bot/rest_channel.py) behind a shared secret.

Only a request with `Authorization: Bearer <bridge secret>` is processed, and only for a sender
`telegram:<chat id>`. So no one but the bridge can post as a Telegram chat, even where Rasa is
reachable from other machines; production configurations leave the plain REST channel out.
A failed turn answers 503, and the bridge tells the parent to send the message again.
"""
from __future__ import annotations

import hmac
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bridge_secret import bridge_secret
from bot.rest_channel import LocalRestInput
from bot.settings import load_settings

SENDER = re.compile(r"^telegram:-?\d{1,20}$")


class TelegramBridgeInput(LocalRestInput):
    @classmethod
    def name(cls) -> Text:
        return "telegram_bridge"

    def __init__(self, secret: Optional[str] = None) -> None:
        self._secret = secret

    def _expected(self) -> str:
        if self._secret is None:
            self._secret = bridge_secret(load_settings())
        return self._secret

    def sender_error(self, sender: Any) -> Optional[str]:
        return None if isinstance(sender, str) and SENDER.match(sender) else "sender must be telegram:<chat id>"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def authenticate(request: Request) -> Optional[HTTPResponse]:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self._expected()}".encode()):
                return response.json({"error": "not authorised"}, status=401)
            return None

        return blueprint
