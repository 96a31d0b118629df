"""Sends staff email through an SMTP server (the production way of reaching staff by email)."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from bot.settings import Settings


class SmtpSender:
    """Sends each message on its own connection: STARTTLS and login when configured, the configured
    timeout on every network step. Raises (smtplib.SMTPException, OSError) when the message is not
    accepted."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpSender needs SMTP_HOST")
        self._settings = settings

    def send(self, message: EmailMessage, reference: str, kind: str = "") -> None:
        settings = self._settings
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
