"""Rasa's SQL tracker store, configured from our settings and unable to forget silently.

Rasa wraps every tracker store in a FailSafeTrackerStore: when the database fails it logs one
ERROR line and carries on with an empty in-memory tracker, so a parent half-way through a referral
would be greeted as a stranger and their answers kept only in one process's memory. `guard()` turns
that fallback into an exception, so the channel tells the parent to try again instead.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Optional

from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore, create_engine_kwargs
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bot.settings import load_settings

logger = logging.getLogger(__name__)


class ConversationStoreUnavailable(RuntimeError):
    """The conversation store could not be read or written: the turn must not go ahead."""


class GuardedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on TRACKER_DATABASE_URL, with connections checked before use (a restarted
    PostgreSQL costs nothing but a reconnect)."""

    def __init__(self, domain: Any = None, host: Optional[str] = None, event_broker: Any = None,
                 url: Optional[str] = None, **kwargs: Any) -> None:
        url = make_url(url or load_settings().tracker_database_url)
        super().__init__(
            domain=domain,
            dialect=url.drivername,
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            event_broker=event_broker,
            query=dict(url.query) or None,
        )
        if url.get_backend_name() != "sqlite":
            self.engine.dispose()
            self.engine = create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sessionmaker(bind=self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


class _Failures:
    last: float = 0.0


def _refuse(error: Exception) -> None:
    _Failures.last = time.time()
    logger.error("Conversation store unavailable (%s); the turn is refused, not kept in memory", type(error).__name__)
    raise ConversationStoreUnavailable(type(error).__name__) from error


def guard(tracker_store: TrackerStore) -> None:
    """Makes Rasa's fail-safe wrapper raise instead of falling back to memory. Idempotent."""
    if isinstance(tracker_store, FailSafeTrackerStore) and tracker_store._on_tracker_store_error is not _refuse:
        tracker_store._on_tracker_store_error = _refuse


def guard_on_start(blueprint: Any) -> None:
    """Guards the server's tracker store once it has loaded, and installs the speed levers
    (bot/speed); every channel of ours calls this, so no configuration of our channels runs unguarded."""

    @blueprint.listener("after_server_start")
    async def refuse_instead_of_forgetting(app: Any, _: Any) -> None:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            guard(agent.tracker_store)
            from bot import speed  # it builds on this module

            speed.install(agent, load_settings().speed_levers)


def seconds_since_last_failure() -> Optional[float]:
    return time.time() - _Failures.last if _Failures.last else None


def primary(tracker_store: TrackerStore) -> TrackerStore:
    """The store behind Rasa's wrappers."""
    while hasattr(tracker_store, "_tracker_store"):
        tracker_store = tracker_store._tracker_store
    return tracker_store
