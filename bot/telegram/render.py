"""Rasa's replies as Telegram messages: text split to Telegram's limit, buttons as inline keyboards."""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, MutableMapping, Optional

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Splits at paragraph, then line, then word boundaries, so no part exceeds `limit`."""
    parts: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def callback_data(payload: str, payloads: MutableMapping[str, str]) -> str:
    """Telegram allows 64 bytes of callback data: longer payloads are kept here and sent by key."""
    if len(payload.encode()) <= MAX_CALLBACK_BYTES - 2:
        return "p:" + payload
    key = "k:" + hashlib.sha256(payload.encode()).hexdigest()[:32]
    payloads[key] = payload
    return key


def payload_of(data: str, payloads: MutableMapping[str, str]) -> Optional[str]:
    if data.startswith("p:"):
        return data[2:]
    return payloads.get(data)


def keyboard(buttons: List[Dict[str, Any]], payloads: MutableMapping[str, str]) -> Optional[InlineKeyboardMarkup]:
    rows = [
        [InlineKeyboardButton(str(b.get("title", ""))[:64], callback_data=callback_data(str(b.get("payload", "")), payloads))]
        for b in buttons
        if b.get("title") and b.get("payload")
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def button_title(markup: Optional[InlineKeyboardMarkup], data: str) -> Optional[str]:
    """The title of the tapped button, to show which answer was chosen."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
