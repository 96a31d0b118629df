"""How every connection to a SQLite store (referrals, conversations) is set up, so that processes
starting at once and writers arriving together wait their turn instead of failing.

- busy_timeout first: a writer that finds the write lock taken waits up to BUSY_TIMEOUT_MS for it.
  pysqlite starts a transaction only at the first INSERT/UPDATE/DELETE, so a transaction holds no read
  snapshot when it asks for the lock, and SQLite does call the busy handler for it.
- WAL journalling, so readers never block the writer. Switching a new file to WAL needs the exclusive
  lock, and when other connections hold a read lock SQLite answers "database is locked" at once,
  without calling the busy handler (it would deadlock). Several processes opening a fresh file at once
  (the worker and the bridge on the first `make run`) all try the switch, so it is retried here until
  one of them has made it. It cannot be done inside BEGIN IMMEDIATE: the journal mode can't change
  inside a transaction.
"""
from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

BUSY_TIMEOUT_MS = 5000


def configure(dbapi_connection: Any, connection_record: Any = None) -> None:
    """SQLAlchemy "connect" listener: busy timeout, WAL (retried), foreign keys."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def switch_to_wal(cursor: Any, within_seconds: float = BUSY_TIMEOUT_MS / 1000) -> str:
    """Sets journal_mode=WAL, retrying while another connection holds the file; returns the mode now
    in force ("wal", or "memory" for an in-memory database). Raises the last "locked" error after
    `within_seconds`, as a writer would after its busy timeout."""
    deadline = time.monotonic() + within_seconds
    pause = 0.002
    while True:
        try:
            return cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause * random.uniform(0.5, 1.5))  # spread the retries of processes that collided
        pause = min(pause * 2, 0.05)
