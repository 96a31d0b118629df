"""Writes staff email to a local folder (`var/mail/<reference>.eml`) when no SMTP server is configured,
so anyone can run the whole service and read what staff would receive."""
from __future__ import annotations

import os
import tempfile
from email.message import EmailMessage
from pathlib import Path

from actions.delivery.reference import check_reference
from bot.settings import Settings


class MailDropSender:
    """One .eml file per referral, written atomically (temporary file, then rename); a referral whose
    file already exists is not written again. Files are readable by their owner only."""

    def __init__(self, settings: Settings) -> None:
        self._directory = Path(settings.mail_drop_dir)

    def path_for(self, reference: str, kind: str = "") -> Path:
        suffix = f"-{kind}" if kind else ""
        if kind and not kind.isalpha():
            raise ValueError("a mail kind is letters only")
        return self._directory / f"{check_reference(reference)}{suffix}.eml"

    def send(self, message: EmailMessage, reference: str, kind: str = "") -> None:
        target = self.path_for(reference, kind)
        if target.exists():
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self._directory, prefix=f".{reference}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
