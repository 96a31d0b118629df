"""Rasa's conversation store (its SQL tracker store, table `events`), seen from outside Rasa:
only to delete conversations, never to read what was said.

A conversation is deleted only under its conversation lock (the lock store the Rasa servers use:
bot/lock_store.py), and only if it is still idle once the lock is held: a turn in flight finishes
first, so it can never write a deleted conversation back, and one that has just arrived keeps it."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

from rasa.core.lock_store import LockError, LockStore

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, delete, func, inspect, select
from sqlalchemy.engine import Engine, make_url

_metadata = MetaData()
events = Table(  # the columns of Rasa 3.6's SQLTrackerStore that we use
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
)


def tracker_store(url: str) -> Engine:
    """Never creates the table: Rasa does, with more columns than we name here."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(parsed, future=True, connect_args={"timeout": 10})
    return create_engine(parsed, future=True, pool_pre_ping=True)


def _exists(engine: Engine) -> bool:
    return inspect(engine).has_table(events.name)


def idle_since(engine: Engine, cutoff: float) -> List[str]:
    """Conversations whose latest event is older than `cutoff` (a Unix time)."""
    if not _exists(engine):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.sender_id).group_by(events.c.sender_id).having(func.max(events.c.timestamp) < cutoff)
        ).all()
    return [row[0] for row in rows]


def last_activity(engine: Engine, sender_id: str) -> Optional[float]:
    if not _exists(engine):
        return None
    with engine.connect() as conn:
        return conn.execute(select(func.max(events.c.timestamp)).where(events.c.sender_id == sender_id)).scalar()


def delete_conversation(engine: Engine, sender_id: str) -> int:
    if not _exists(engine):
        return 0
    with engine.begin() as conn:
        return conn.execute(delete(events).where(events.c.sender_id == sender_id)).rowcount


LOCK_WAIT_SECONDS = 60.0  # longer than any turn: Rasa's own lock lifetime is 60 s
_POLL_SECONDS = 0.05


@contextmanager
def held(locks: LockStore, sender_id: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """The conversation's lock, as a turn takes it: after any turn in flight."""
    hold = getattr(locks, "hold", None)  # bot/lock_store.FileLockStore: no tickets
    if hold is not None:
        with hold(sender_id, wait_seconds):
            yield
        return
    ticket = locks.issue_ticket(sender_id, wait_seconds)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            lock = locks.get_lock(sender_id)
            if lock is None or not lock.is_locked(ticket):
                break
            if time.monotonic() > deadline:
                raise LockError(f"the conversation lock was not free within {wait_seconds:.0f} s")
            time.sleep(_POLL_SECONDS)
            locks.update_lock(sender_id)
        yield
    finally:
        locks.cleanup(sender_id, ticket)


def delete_if_idle(engine: Engine, locks: LockStore, sender_id: str, cutoff: float) -> bool:
    """Deletes the conversation under its lock if its latest event is still older than `cutoff`
    (or it has none left); True if it is gone."""
    with held(locks, sender_id):
        last = last_activity(engine, sender_id)
        if last is not None and last >= cutoff:
            return False
        delete_conversation(engine, sender_id)
        return True
