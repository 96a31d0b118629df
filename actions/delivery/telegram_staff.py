"""Telling the staff Telegram chat that a referral has arrived.

By default the message holds only the reference, the time and the type of referral: Telegram is
not an approved channel for health data. TELEGRAM_STAFF_FULL_DETAILS=true adds every answer."""
from __future__ import annotations

import html
from typing import Any, Mapping, Optional

import httpx

from actions.delivery.email import duplicate_reference, referral_type_label, safety_notice, uk_time
from actions.delivery.reference import check_reference
from bot.settings import Settings

TELEGRAM_API = "https://api.telegram.org/bot"
MAX_MESSAGE = 4096


class TelegramSendFailed(Exception):
    """The Bot API refused or failed the message; `code` is its error code (429: too many requests)."""

    def __init__(self, code: int, retry_after: Optional[float] = None) -> None:
        super().__init__(f"Telegram error {code}")
        self.code = code
        self.retry_after = retry_after


def staff_notification(referral: Mapping[str, Any], full_details: bool) -> str:
    """The message for the staff chat, HTML-escaped for parse_mode=HTML."""
    reference = check_reference(referral["reference"])
    kind = referral_type_label(referral["referral_type"])
    lines = [
        f"<b>New COSP referral {reference}</b>",
        f"Received: {html.escape(uk_time(referral['created_at']))}",
        f"Type: {html.escape(kind)}",
    ]
    if referral.get("duplicate_of"):  # the earlier reference only: never the phone or email they share
        earlier = duplicate_reference(referral)
        lines.insert(1, f"Possible duplicate of {earlier}" if earlier else "Possible duplicate of an earlier referral")
    notice = safety_notice(referral)
    if notice:
        lines.insert(1, f"<b>{html.escape(notice)}</b>")
    if full_details:
        lines.append("")
        lines += [f"<b>{html.escape(str(label))}:</b> {html.escape(str(value))}" for label, value in referral["answers"]]
    else:
        lines.append("The details are in the team's email.")
    text = "\n".join(lines)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 40].rsplit("\n", 1)[0] + "\n(more in the email)"


class TelegramStaffChannel:
    def __init__(self, settings: Settings, client: Optional[httpx.Client] = None) -> None:
        self._settings = settings
        self._client = client

    def __call__(self, referral: Mapping[str, Any]) -> None:
        post_to_staff_chat(self._settings, staff_notification(referral, self._settings.telegram_staff_full_details),
                           self._client)


def post_to_staff_chat(settings: Settings, text: str, client: Optional[httpx.Client] = None) -> None:
    """Sends `text` (HTML) to the staff chat; raises TelegramSendFailed."""
    if not (settings.telegram_bot_token and settings.telegram_staff_chat_id):
        raise TelegramSendFailed(0)  # not configured here: kept pending until it is
    base = settings.telegram_api_base_url or TELEGRAM_API
    payload = {
        "chat_id": settings.telegram_staff_chat_id,
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
    }
    own_client = client is None
    client = client or httpx.Client(timeout=settings.smtp_timeout)
    try:
        response = client.post(f"{base}{settings.telegram_bot_token}/sendMessage", json=payload)
    finally:
        if own_client:
            client.close()
    try:
        body = response.json()
    except ValueError:
        raise TelegramSendFailed(response.status_code) from None
    if response.status_code != 200 or not body.get("ok"):
        retry_after = (body.get("parameters") or {}).get("retry_after")
        raise TelegramSendFailed(int(body.get("error_code") or response.status_code), retry_after)
