"""The referral store's Alembic migrations, on SQLite and on the tests' own PostgreSQL (tests/pg.py)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, List

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint, create_engine, inspect
from sqlalchemy.engine import Engine

from actions.delivery import store
from actions.delivery.migrate import UnknownSchema, current_revision, head, upgrade
from actions.delivery.store import claim_due_jobs, get_referral, list_deliveries, make_engine, mark_sent
from actions.privacy import erasure
from tests.environment import process_env
from tests.pg import fresh_database

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 26, 14, 3)

# The tables as metadata.create_all made them before migrations (store.py before revision 0001), frozen.
legacy = MetaData()
Table(
    "referrals",
    legacy,
    Column("id", Integer, primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("submission_key", String(128), nullable=False, unique=True),
    Column("referral_type", String(32), nullable=False),
    Column("answers_json", JSON, nullable=False),
    Column("data_json", JSON, nullable=False),
    Column("consent_version", String(32), nullable=False),
    Column("consent_text", Text, nullable=False),
    Column("consent_given_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False, server_default="new"),
    Column("conversation_id", String(128), nullable=True, index=True),
    Column("contacted_at", DateTime, nullable=True),
    Column("contact_keys", JSON, nullable=True),
    Column("duplicate_of", String(16), nullable=True),
)
Table(
    "deliveries",
    legacy,
    Column("id", Integer, primary_key=True),
    Column("referral_id", Integer, ForeignKey("referrals.id"), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("locked_until", DateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("last_attempt_at", DateTime, nullable=True),
    Column("sent_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("referral_id", "channel", name="uq_deliveries_referral_channel"),
)


def tables_in_code() -> MetaData:
    """Every table the code expects in the referral store's database."""
    combined = MetaData()
    for table in [*store.metadata.tables.values(), *erasure.metadata.tables.values()]:
        table.to_metadata(combined)
    return combined


def differences(engine: Engine, expected: MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, expected)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'referrals.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_url")) as database:
            yield database


def bare_engine(url: str) -> Engine:
    """An engine that has not run the migrations (make_engine would)."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True)


def test_an_empty_database_is_upgraded_to_exactly_the_tables_in_code(url: str) -> None:
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head() == "0004"
        assert differences(engine, tables_in_code()) == []
    finally:
        engine.dispose()


def test_revision_0001_is_what_create_all_made_before_migrations(url: str) -> None:
    engine = bare_engine(url)
    try:
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert differences(engine, legacy) == []
    finally:
        engine.dispose()


def test_a_database_made_by_create_all_is_stamped_and_upgraded_and_keeps_its_referrals(url: str) -> None:
    old = bare_engine(url)
    legacy.create_all(old)
    with old.begin() as conn:
        referral_id = conn.execute(
            legacy.tables["referrals"].insert().values(
                reference="COSP-OLD01", submission_key="key-old", referral_type="self",
                answers_json=[["Your name", "Amira Khan"]], data_json={"name": "Amira Khan"},
                consent_version="v1", consent_text="I agree.", consent_given_at=AT, created_at=AT,
            )
        ).inserted_primary_key[0]
        conn.execute(
            legacy.tables["deliveries"].insert().values(referral_id=referral_id, channel="email", next_attempt_at=AT, created_at=AT)
        )
    old.dispose()

    engine = make_engine(url)
    try:
        assert current_revision(engine) == head()
        assert differences(engine, tables_in_code()) == []
        referral = get_referral(engine, "COSP-OLD01")
        assert referral is not None and referral["answers"] == [("Your name", "Amira Khan")]
        assert referral["consent_given_at"] == AT.replace(tzinfo=timezone.utc)
        (job,) = claim_due_jobs(engine, datetime.now(timezone.utc), lease_seconds=60, limit=10)
        assert (job["reference"], job["attempts"]) == ("COSP-OLD01", 1)
        assert mark_sent(engine, job["id"], datetime.now(timezone.utc), claim_token=job["claim_token"])
        assert [job["status"] for job in list_deliveries(engine)] == ["sent"]
    finally:
        engine.dispose()


def test_old_tables_that_are_not_revision_0001_are_refused_not_stamped(url: str) -> None:
    old = bare_engine(url)
    shorter = MetaData()
    for table in legacy.tables.values():
        table.to_metadata(shorter)
    shorter.tables["referrals"]._columns.remove(shorter.tables["referrals"].c.duplicate_of)  # as before d9cd281
    shorter.create_all(old)

    with pytest.raises(UnknownSchema, match="referrals.duplicate_of"):
        make_engine(url)
    assert not inspect(old).has_table("alembic_version")
    old.dispose()


# A process that makes the store's engine (so migrates it) at the given Unix time, as each server does at start.
START_AT = """
import sys, time
from actions.delivery.store import make_engine
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
make_engine(sys.argv[1]).dispose()
"""


def test_processes_starting_at_once_all_succeed(url: str) -> None:
    at = time.time() + 3  # after every process has imported what it needs (about 1 s)
    env = process_env()
    processes = [
        subprocess.Popen([sys.executable, "-c", START_AT, url, str(at)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    failures = [process.communicate(timeout=120)[1] for process in processes if process.wait(timeout=120) != 0]

    assert failures == []
    engine = bare_engine(url)
    assert current_revision(engine) == head()
    assert differences(engine, tables_in_code()) == []
    engine.dispose()


def test_threads_migrating_different_databases_at_once_all_succeed(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'store-{n}.db'}" for n in range(4)]
    barrier = threading.Barrier(len(urls))
    errors: List[BaseException] = []

    def start(url: str) -> None:
        try:
            barrier.wait()
            make_engine(url).dispose()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for url in urls:
        engine = bare_engine(url)
        assert current_revision(engine) == head()
        engine.dispose()


def test_the_migrate_command_upgrades_and_prints_the_revision(url: str, tmp_path: Path) -> None:
    env = process_env(COSP_VAR_DIR=str(tmp_path / "var"), DATABASE_URL=url)
    command = [sys.executable, "-m", "actions.delivery.migrate"]
    for _ in range(2):  # the second run finds nothing to do
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout) == (0, f"{head()}\n"), done.stderr
    engine = bare_engine(url)
    assert current_revision(engine) == head()
    engine.dispose()
