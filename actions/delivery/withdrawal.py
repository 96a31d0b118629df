"""Telling staff that a parent has withdrawn a referral they already received: an email through
the same outbox and worker as the referral itself (job channel "withdrawal")."""
from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Mapping, Optional

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.delivery.email import MESSAGE_ID_DOMAIN, uk_time
from actions.delivery.reference import check_reference
from actions.delivery.senders import EmailSender, email_sender_for
from actions.delivery.store import PENDING, deliveries, referrals
from bot.settings import Settings

CHANNEL = "withdrawal"
WITHDRAWN = "withdrawn"


def request_withdrawal(engine: Engine, referral_id: int, now: datetime) -> None:
    """Marks the referral withdrawn and queues the staff email, in one transaction; once only."""
    with engine.begin() as conn:
        conn.execute(update(referrals).where(referrals.c.id == referral_id).values(status=WITHDRAWN))
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(deliveries).values(
                        referral_id=referral_id, channel=CHANNEL, status=PENDING, attempts=0,
                        next_attempt_at=now, created_at=now,
                    )
                )
        except IntegrityError:
            pass  # already withdrawn: staff are told once


def withdrawal_email(referral: Mapping[str, Any], settings: Settings) -> EmailMessage:
    reference = check_reference(referral["reference"])
    message = EmailMessage()
    message["Subject"] = f"COSP referral {reference} withdrawn"
    message["From"] = settings.referral_email_from
    message["To"] = settings.referral_email_to
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = f"<{reference}-withdrawn@{MESSAGE_ID_DOMAIN}>"
    message.set_content(
        f"The parent or referrer has withdrawn referral {reference} (received {uk_time(referral['created_at'])}) "
        "in the chat.\n\nPlease don't contact them about it, and handle the referral email you received "
        "under your records policy.\n",
        cte="quoted-printable",
    )
    return message


class WithdrawalChannel:
    def __init__(self, settings: Settings, sender: Optional[EmailSender] = None) -> None:
        self._settings = settings
        self._sender = sender if sender is not None else email_sender_for(settings)

    def __call__(self, referral: Mapping[str, Any]) -> None:
        self._sender.send(withdrawal_email(referral, self._settings), referral["reference"], kind="withdrawn")
