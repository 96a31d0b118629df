"""The Rasa server's health check reports what Rasa itself would hide."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.health import checks
from bot.tracker_store import ConversationStoreUnavailable, GuardedSQLTrackerStore, guard


class Agent:
    def __init__(self, tracker_store: Any, lock_store: Any = None, ready: bool = True) -> None:
        self.tracker_store = FailSafeTrackerStore(tracker_store)
        self.lock_store = lock_store or InMemoryLockStore()
        self._ready = ready

    def is_ready(self) -> bool:
        return self._ready


class DeadLockStore:
    def ping(self) -> None:
        raise ConnectionError("redis down")


@pytest.fixture
def sql_store(tmp_path: Path, monkeypatch) -> GuardedSQLTrackerStore:
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("COSP_VAR_DIR", str(tmp_path))
    return GuardedSQLTrackerStore(domain=Domain.empty())


def test_healthy_with_the_sql_store_and_a_lock_store_in_memory(sql_store):
    assert checks(Agent(sql_store)) == {"model": "ok", "conversation_store": "ok",
                                        "lock_store": "ok (in memory: one Rasa server only)"}


def test_rasas_in_memory_fallback_is_reported_not_healthy():
    result = checks(Agent(InMemoryTrackerStore(Domain.empty())))
    assert result["conversation_store"].startswith("InMemoryTrackerStore, not the SQL store")


def test_an_unreachable_lock_store_and_a_missing_model_are_reported(sql_store):
    assert checks(Agent(sql_store, DeadLockStore()))["lock_store"] == "unreachable (ConnectionError)"
    assert checks(Agent(sql_store, ready=False)) == {"model": "not loaded"}


@pytest.mark.asyncio
async def test_a_guarded_store_raises_where_rasa_would_fall_back_to_memory(sql_store):
    async def fail(*_: Any) -> None:
        raise OSError("disk gone")

    sql_store.retrieve = fail
    sql_store.save = fail
    agent = Agent(sql_store)
    assert await agent.tracker_store.retrieve("web:x") is None  # Rasa's own behaviour: forget silently
    guard(agent.tracker_store)
    with pytest.raises(ConversationStoreUnavailable):
        await agent.tracker_store.retrieve("web:x")
    with pytest.raises(ConversationStoreUnavailable):
        await agent.tracker_store.save(DialogueStateTracker("web:x", []))
