"""SQLite under contention: processes that open the referral store at once, and writers that arrive
together, wait their turn and never fail with "database is locked"."""
from __future__ import annotations

import multiprocessing
import sqlite3
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List

import pytest

from bot import sqlite_pragmas
from actions.delivery.migrate import current_revision, head
from actions.delivery.store import claim_due_jobs, list_deliveries, make_engine, mark_sent, save_referral
from tests.test_store import make_record

PROCESSES = 6
ROUNDS = 20
SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter, as each server is


def open_each_at_once(barrier: Any, urls: List[str], failures: Any) -> None:
    for url in urls:
        barrier.wait(timeout=120)  # all six open the same fresh file together
        try:
            make_engine(url).dispose()
        except Exception:
            failures.put(traceback.format_exc(limit=1))


def save_and_send(barrier: Any, url: str, writer: int, failures: Any) -> None:
    try:
        engine = make_engine(url)
        barrier.wait(timeout=120)
        for n in range(10):
            save_referral(engine, make_record(f"COSP-{writer}{n:04d}", f"writer-{writer}-{n}"))
            for job in claim_due_jobs(engine, datetime.now(timezone.utc), lease_seconds=300, limit=5):
                mark_sent(engine, job["id"], datetime.now(timezone.utc), claim_token=job["claim_token"])
        engine.dispose()
    except Exception:
        failures.put(traceback.format_exc(limit=2))


def run_together(target: Any, args_for: Any) -> List[str]:
    barrier, failures = SPAWN.Barrier(PROCESSES), SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(barrier, *args_for(i), failures)) for i in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    found = []
    while not failures.empty():
        found.append(failures.get())
    return found


def test_six_processes_opening_fresh_stores_at_once_twenty_times_never_fail(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'round-{n}' / 'referrals.db'}" for n in range(ROUNDS)]

    assert run_together(open_each_at_once, lambda i: (urls,)) == []
    for url in urls:
        engine = make_engine(url)
        assert current_revision(engine) == head()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        engine.dispose()


def test_six_writers_at_once_all_wait_their_turn(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'referrals.db'}"

    assert run_together(save_and_send, lambda i: (url, i)) == []
    engine = make_engine(url)
    jobs = list_deliveries(engine)
    engine.dispose()
    assert len(jobs) == PROCESSES * 10
    leftover = [job for job in jobs if job["status"] != "sent"]
    assert all(job["attempts"] == 0 for job in leftover)  # a job never claimed, not a claim lost


class Cursor:
    """Answers PRAGMA journal_mode=WAL with the given errors first, then "wal"."""

    def __init__(self, *errors: str) -> None:
        self.errors, self.calls = list(errors), 0

    def execute(self, sql: str) -> "Cursor":
        self.calls += 1
        if self.errors:
            raise sqlite3.OperationalError(self.errors.pop(0))
        return self

    def fetchone(self) -> tuple:
        return ("wal",)


def test_the_wal_switch_is_retried_while_the_file_is_locked() -> None:
    """Two connections that both read a new file and both ask for WAL deadlock; SQLite answers one of
    them "database is locked" at once, without its busy handler. That one tries again."""
    cursor = Cursor("database is locked", "database is locked")
    assert sqlite_pragmas.switch_to_wal(cursor) == "wal"
    assert cursor.calls == 3


def test_the_wal_switch_gives_up_after_the_busy_timeout_and_never_hides_other_errors() -> None:
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite_pragmas.switch_to_wal(Cursor(*["database is locked"] * 1000), within_seconds=0.05)
    cursor = Cursor("disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        sqlite_pragmas.switch_to_wal(cursor)
    assert cursor.calls == 1
