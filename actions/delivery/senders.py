"""Which way staff email leaves: SMTP when a server is configured, else the local mail drop."""
from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from actions.delivery.maildrop import MailDropSender
from actions.delivery.smtp import SmtpSender
from bot.settings import Settings


class EmailSender(Protocol):
    def send(self, message: EmailMessage, reference: str, kind: str = "") -> None:
        """Delivers the message for this referral (`kind`: "" for the referral itself, or e.g.
        "withdrawn"), or raises."""


def email_sender_for(settings: Settings) -> EmailSender:
    if settings.smtp_configured:
        return SmtpSender(settings)
    return MailDropSender(settings)
