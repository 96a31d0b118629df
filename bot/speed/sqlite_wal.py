"""Rasa opens SQLite (the `make run` conversation store) with SQLAlchemy 1.4's default for a file:
a new connection for every read and every save, in the rollback-journal mode, whose commit syncs
the journal, the file and the folder. Here the store keeps its connections open (a pool, used only
from the server's event loop) and journals ahead (WAL), as the referral store does
(bot/sqlite_pragmas.py): one sync per commit, still durable, and the worker's purge never blocks a
turn's read. synchronous stays FULL: a turn a parent saw answered is on disk."""
from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot import sqlite_pragmas
from bot.speed.tracker_store import sql_store

NAME = "sqlite_wal"


def install(agent: Any) -> None:
    store = sql_store(agent)
    if store is None or store.engine.url.get_backend_name() != "sqlite" or store.engine.url.database in (None, "", ":memory:"):
        return
    engine = create_engine(store.engine.url, poolclass=QueuePool, pool_size=2, max_overflow=8,
                           connect_args={"check_same_thread": False})
    event.listen(engine, "connect", sqlite_pragmas.configure)
    store.engine.dispose()
    store.engine = engine
    store.sessionmaker = sessionmaker(bind=engine)
