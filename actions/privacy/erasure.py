"""A parent's "delete my data": what happens at once, and what waits until the conversation is idle.

At once (from the chat, after the parent confirms): referrals from this conversation that have not
reached staff are deleted with their delivery jobs; ones already delivered stay with the team (the
parent is told how to ask them) and lose their link to this conversation. The conversation itself
is erased by the worker once it has been idle for ERASE_AFTER_IDLE_SECONDS, because Rasa writes the
conversation back at the end of each turn."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select, update
from rasa.core.lock_store import LockStore
from sqlalchemy.engine import Engine

from actions.delivery.store import PENDING, UTCDateTime, deliveries, referrals
from actions.privacy import conversations

ERASE_AFTER_IDLE_SECONDS = 30.0

metadata = MetaData()
erasure_requests = Table(  # made by the referral store's migrations (revision 0003), in its database
    "erasure_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(128), nullable=False, index=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("erased_at", UTCDateTime, nullable=True),
)


@dataclass(frozen=True)
class Erased:
    referrals_deleted: List[str]  # references that never reached staff and are gone
    referrals_kept_by_staff: List[str]  # already delivered: the team has them


def delete_referral(conn, referral_id: int) -> None:
    conn.execute(delete(deliveries).where(deliveries.c.referral_id == referral_id))
    conn.execute(delete(referrals).where(referrals.c.id == referral_id))


def erase_now(engine: Engine, conversation_id: str, now: datetime) -> Erased:
    """Deletes what can be deleted at once and records the request to erase the conversation."""
    deleted, kept = [], []
    with engine.begin() as conn:
        rows = conn.execute(
            select(referrals.c.id, referrals.c.reference).where(referrals.c.conversation_id == conversation_id)
        ).all()
        for referral_id, reference in rows:
            statuses = conn.execute(
                select(deliveries.c.status).where(deliveries.c.referral_id == referral_id)
            ).scalars().all()
            if all(status == PENDING for status in statuses):
                delete_referral(conn, referral_id)
                deleted.append(reference)
            else:
                conn.execute(update(referrals).where(referrals.c.id == referral_id).values(conversation_id=None))
                kept.append(reference)
        conn.execute(insert(erasure_requests).values(conversation_id=conversation_id, requested_at=now))
    return Erased(deleted, kept)


def erase_idle_conversations(engine: Engine, tracker: Engine, now: datetime, *, locks: LockStore) -> int:
    """Erases each requested conversation once it has been idle long enough (under its conversation
    lock); returns how many."""
    with engine.connect() as conn:
        pending = conn.execute(
            select(erasure_requests.c.id, erasure_requests.c.conversation_id).where(erasure_requests.c.erased_at.is_(None))
        ).all()
    erased = 0
    for request_id, conversation_id in pending:
        if not conversations.delete_if_idle(tracker, locks, conversation_id, now.timestamp() - ERASE_AFTER_IDLE_SECONDS):
            continue
        with engine.begin() as conn:
            conn.execute(
                update(erasure_requests)
                .where(erasure_requests.c.id == request_id)
                .values(erased_at=now, conversation_id="erased")
            )
        erased += 1
    return erased


def withdraw_before_delivery(engine: Engine, referral_id: int) -> bool:
    """Deletes the referral if none of its deliveries has happened yet; False if staff have it."""
    with engine.begin() as conn:
        statuses = conn.execute(select(deliveries.c.status).where(deliveries.c.referral_id == referral_id)).scalars().all()
        if statuses and any(status != PENDING for status in statuses):
            return False
        delete_referral(conn, referral_id)
    return True
