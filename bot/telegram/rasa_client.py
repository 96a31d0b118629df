"""Talking to Rasa's bridge channel (bot/telegram/rasa_channel.py): one message in, the replies out."""
from __future__ import annotations

from typing import Any, Dict, List

import httpx


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error; the message was not processed."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float, secret: str, client: httpx.AsyncClient | None = None) -> None:
        self._url = f"{base_url.rstrip('/')}/webhooks/telegram_bridge/webhook"
        self._client = client or httpx.AsyncClient(timeout=timeout, headers={"Authorization": f"Bearer {secret}"})

    async def send(self, sender_id: str, text: str) -> List[Dict[str, Any]]:
        try:
            response = await self._client.post(self._url, json={"sender": sender_id, "message": text})
        except httpx.HTTPError as error:
            raise RasaUnavailable(type(error).__name__) from None
        if response.status_code != 200:
            raise RasaUnavailable(f"HTTP {response.status_code}")
        try:
            replies = response.json()
        except ValueError:
            raise RasaUnavailable("not JSON") from None
        return replies if isinstance(replies, list) else []

    async def close(self) -> None:
        await self._client.aclose()
