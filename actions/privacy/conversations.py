"""Rasa's conversation store (its SQL tracker store, table `events`), seen from outside Rasa:
only to delete conversations, never to read what was said."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

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
