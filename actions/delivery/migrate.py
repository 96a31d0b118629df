"""The referral store's schema, kept by the Alembic migrations in migrations/versions/. Every process
brings the database to the newest revision when it makes its engine (store.make_engine); run
`python -m actions.delivery.migrate` to do only that and print the revision.

Several processes may start at once: each upgrade runs in one transaction that first takes a lock
(pg_advisory_xact_lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so the others wait, then find the
work done. A database made before migrations (by metadata.create_all: the tables, no alembic_version)
is stamped at revision 0001 first.

A schema change is a new file in migrations/versions/ (down_revision = the previous one) plus the same
change to the tables in store.py; tests/test_migrations.py fails while the two differ.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("actions.delivery.migrate")  # not __name__: "__main__" under -m

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LEGACY_REVISION = "0001"
VERSION_TABLE = "alembic_version"  # Alembic's default name
# Any bigint no other code takes a PostgreSQL advisory lock on in this database.
ADVISORY_LOCK_KEY = 0x636F7370  # "cosp"
# Alembic's commands work through module-level proxies (alembic.context, alembic.op): one at a time per process.
_ALEMBIC_IN_USE = threading.Lock()

# What create_all made before migrations, i.e. revision 0001: an older database lacking any of these
# is not stamped (stamping would hide the difference) but refused.
LEGACY_COLUMNS: Dict[str, FrozenSet[str]] = {
    "referrals": frozenset(
        {
            "id", "reference", "submission_key", "referral_type", "answers_json", "data_json", "consent_version",
            "consent_text", "consent_given_at", "created_at", "status", "conversation_id", "contacted_at",
            "contact_keys", "duplicate_of",
        }
    ),
    "deliveries": frozenset(
        {
            "id", "referral_id", "channel", "status", "attempts", "next_attempt_at", "locked_until", "last_error",
            "last_attempt_at", "sent_at", "created_at",
        }
    ),
}


class UnknownSchema(RuntimeError):
    """The database has referral store tables from before migrations that are not revision 0001's."""


def alembic_config(connection: Optional[Connection] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "no migrations found"
    return revision


def current_revision(engine: Engine) -> Optional[str]:
    """The revision the database is at, None before any; read directly, as Alembic's MigrationContext
    would log two lines at INFO on every start."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one_or_none()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the database to `revision` (default: the newest); safe to call from several processes at once."""
    if revision == "head" and current_revision(engine) == head():
        return
    with _ALEMBIC_IN_USE, engine.connect() as conn, conn.begin():
        _lock(conn)
        if _made_before_migrations(conn):
            log.info("referral store made before migrations: stamping it at revision %s", LEGACY_REVISION)
            command.stamp(alembic_config(conn), LEGACY_REVISION)
        command.upgrade(alembic_config(conn), revision)


def _lock(conn: Connection) -> None:
    """Held until the transaction ends: a second process waits here, then finds the work done."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
    elif dialect == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now; waits up to busy_timeout for it


def _made_before_migrations(conn: Connection) -> bool:
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    if VERSION_TABLE in tables or not tables & set(LEGACY_COLUMNS):
        return False
    missing: List[str] = []
    for table, columns in LEGACY_COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table)} if table in tables else set()
        missing.extend(f"{table}.{column}" for column in sorted(columns - present))
    if missing:
        raise UnknownSchema(f"referral store tables from before migrations lack {', '.join(missing)}; not upgraded")
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    from actions.delivery.store import make_engine
    from bot.logging_setup import start_process

    argparse.ArgumentParser(
        prog="python -m actions.delivery.migrate",
        description="Bring the referral store (DATABASE_URL) to the newest schema revision and print it.",
    ).parse_args(argv)
    settings = start_process(log)
    if settings is None:
        return 2
    try:
        engine = make_engine(settings.database_url)
    except (SQLAlchemyError, UnknownSchema) as error:
        log.error("referral store not migrated: %s", error if isinstance(error, UnknownSchema) else type(error).__name__)
        return 1
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    log.info("referral store at revision %s", revision)
    print(revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
