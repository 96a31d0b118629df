"""The referral store and outbox, on a real SQLite file and (where marked by the `url` fixture) on the
tests' own PostgreSQL too, as several action servers and delivery workers use it."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.delivery.store import (
    ReferenceTaken,
    claim_due_jobs,
    deliveries,
    get_referral,
    list_deliveries,
    make_engine,
    mark_failed,
    mark_sent,
    save_referral,
)
from actions.referral.record import ReferralRecord
from tests.pg import fresh_database

CONSENT_AT = datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc)


def make_record(reference: str = "COSP-ABCDE", submission_key: str = "submission-1") -> ReferralRecord:
    return ReferralRecord(
        reference=reference,
        submission_key=submission_key,
        referral_type="self",
        answers=[("Your name", "Amira Khan"), ("Phone number", "07700 900123"), ("What is going on?", "Sleep 😴")],
        data={"name": "Amira Khan", "phone": "07700900123"},
        consent_version="v1",
        consent_text="I agree that the COSP team may contact me.",
        consent_given_at=CONSENT_AT,
    )


def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'folder' / 'referrals.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield database_url(tmp_path)
    else:
        with fresh_database(request.getfixturevalue("postgres_url")) as database:
            yield database


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(database_url(tmp_path))
    yield engine
    engine.dispose()


def test_make_engine_creates_the_folder_and_sets_sqlite_pragmas(tmp_path: Path, sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    assert (tmp_path / "nested" / "folder" / "referrals.db").exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_save_stores_the_referral_and_one_pending_delivery_per_channel(engine: Engine) -> None:
    assert save_referral(engine, make_record(), channels=("email", "telegram")) == "COSP-ABCDE"

    referral = get_referral(engine, "COSP-ABCDE")
    assert referral is not None
    assert referral["answers"] == make_record().answers
    assert referral["data"] == {"name": "Amira Khan", "phone": "07700900123"}
    assert referral["status"] == "new"
    assert referral["consent_given_at"] == CONSENT_AT
    assert referral["created_at"].tzinfo is not None

    jobs = list_deliveries(engine, "COSP-ABCDE")
    assert [(job["channel"], job["status"], job["attempts"]) for job in jobs] == [
        ("email", "pending", 0),
        ("telegram", "pending", 0),
    ]
    assert all(job["locked_until"] is None and job["reference"] == "COSP-ABCDE" for job in jobs)


def test_save_is_one_transaction_a_failed_delivery_insert_leaves_no_referral(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        save_referral(engine, make_record(), channels=("email", "email"))  # breaks unique(referral_id, channel)

    assert get_referral(engine, "COSP-ABCDE") is None
    assert list_deliveries(engine) == []
    # and the failed attempt does not block a correct one
    assert save_referral(engine, make_record()) == "COSP-ABCDE"


def test_the_same_submission_is_stored_once(engine: Engine) -> None:
    first = save_referral(engine, make_record("COSP-ABCDE", "submission-1"))
    retried = save_referral(engine, make_record("COSP-ZZZZZ", "submission-1"))  # a retry picked a new reference

    assert first == retried == "COSP-ABCDE"
    assert get_referral(engine, "COSP-ZZZZZ") is None
    assert len(list_deliveries(engine)) == 1


def test_a_submission_saved_concurrently_is_stored_once(url: str, engine: Engine) -> None:
    """The race: another process stores the same submission between our check and our insert."""
    other = make_engine(url)
    raced = []

    @event.listens_for(engine, "before_cursor_execute")
    def other_process_wins(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO referrals") and not raced:
            raced.append(save_referral(other, make_record("COSP-OTHER", "submission-1")))

    assert save_referral(engine, make_record("COSP-ABCDE", "submission-1")) == "COSP-OTHER"
    assert raced == ["COSP-OTHER"]
    assert get_referral(engine, "COSP-ABCDE") is None
    assert len(list_deliveries(engine)) == 1
    other.dispose()


def test_a_reference_held_by_another_submission_raises_reference_taken(engine: Engine) -> None:
    save_referral(engine, make_record("COSP-ABCDE", "submission-1"))

    with pytest.raises(ReferenceTaken) as raised:
        save_referral(engine, make_record("COSP-ABCDE", "submission-2"))

    assert raised.value.reference == "COSP-ABCDE"
    assert save_referral(engine, make_record("COSP-FGHIJ", "submission-2")) == "COSP-FGHIJ"
    assert len(list_deliveries(engine)) == 2


def save_many(engine: Engine, count: int) -> None:
    for n in range(count):
        save_referral(engine, make_record(f"COSP-{n:05d}", f"submission-{n}"))


def later() -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=1)


def test_claim_takes_due_jobs_counts_the_attempt_and_locks_them(engine: Engine) -> None:
    save_many(engine, 3)
    now = later()

    jobs = claim_due_jobs(engine, now, lease_seconds=60, limit=2)

    assert len(jobs) == 2
    assert all(job["attempts"] == 1 and job["locked_until"] == now + timedelta(seconds=60) for job in jobs)
    assert jobs[0]["referral"]["reference"] == jobs[0]["reference"] == "COSP-00000"
    assert jobs[0]["referral"]["answers"] == make_record().answers
    rest = claim_due_jobs(engine, now, lease_seconds=60, limit=10)
    assert [job["reference"] for job in rest] == ["COSP-00002"]
    assert claim_due_jobs(engine, now, lease_seconds=60, limit=10) == []


def test_a_lock_expires_so_a_crashed_workers_job_is_taken_again(engine: Engine) -> None:
    save_many(engine, 1)
    now = later()
    claim_due_jobs(engine, now, lease_seconds=60, limit=10)

    assert claim_due_jobs(engine, now + timedelta(seconds=59), lease_seconds=60, limit=10) == []
    again = claim_due_jobs(engine, now + timedelta(seconds=61), lease_seconds=60, limit=10)
    assert [job["attempts"] for job in again] == [2]


def test_claims_at_the_same_time_get_disjoint_jobs(tmp_path: Path, sqlite_engine: Engine) -> None:
    """Deterministic interleaving (SQLite's way of claiming): worker B claims everything after worker A
    chose its candidates but before A's first UPDATE; A must then get none of them."""
    engine = sqlite_engine
    save_many(engine, 5)
    worker_b = make_engine(database_url(tmp_path))
    now = later()
    b_jobs: List[dict] = []

    @event.listens_for(engine, "before_cursor_execute")
    def b_claims_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE deliveries") and not b_jobs:
            b_jobs.extend(claim_due_jobs(worker_b, now, lease_seconds=60, limit=3))

    a_jobs = claim_due_jobs(engine, now, lease_seconds=60, limit=5)

    a_ids, b_ids = {job["id"] for job in a_jobs}, {job["id"] for job in b_jobs}
    assert len(b_ids) == 3 and len(a_ids) == 2
    assert a_ids.isdisjoint(b_ids)
    assert all(job["attempts"] == 1 for job in list_deliveries(engine))
    worker_b.dispose()


def test_concurrent_workers_never_claim_the_same_job(url: str) -> None:
    engines = [make_engine(url) for _ in range(4)]
    save_many(engines[0], 40)
    now = later()
    start = threading.Barrier(len(engines))
    claimed: List[List[int]] = [[] for _ in engines]
    errors: List[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            while True:
                jobs = claim_due_jobs(engines[index], now, lease_seconds=60, limit=3)
                if not jobs:
                    return
                claimed[index].extend(job["id"] for job in jobs)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    every_claim = [job_id for ids in claimed for job_id in ids]
    assert len(every_claim) == len(set(every_claim)) == 40
    assert all(job["attempts"] == 1 for job in list_deliveries(engines[0]))
    for each in engines:
        each.dispose()


def test_mark_sent_and_mark_failed(engine: Engine) -> None:
    save_many(engine, 2)
    now = later()
    sent_job, failed_job = claim_due_jobs(engine, now, lease_seconds=60, limit=2)

    assert mark_sent(engine, sent_job["id"], now, claim_token=sent_job["claim_token"]) is True
    retry_at = now + timedelta(seconds=4)
    error = "ConnectionRefusedError" + "x" * 500
    assert mark_failed(engine, failed_job["id"], now, error, retry_at, claim_token=failed_job["claim_token"]) is True

    sent, failed = list_deliveries(engine)
    assert (sent["status"], sent["sent_at"], sent["locked_until"]) == ("sent", now, None)
    assert (failed["status"], failed["next_attempt_at"], failed["locked_until"]) == ("pending", retry_at, None)
    assert failed["last_error"].startswith("ConnectionRefusedError") and len(failed["last_error"]) == 200
    # a sent job is never claimed or reset again; the failed one is due at its retry time
    assert mark_failed(engine, sent["id"], now, "late", retry_at, claim_token=sent_job["claim_token"]) is False
    assert mark_sent(engine, sent["id"], now, claim_token=sent_job["claim_token"]) is False
    assert claim_due_jobs(engine, retry_at - timedelta(seconds=1), lease_seconds=60, limit=10) == []
    assert [job["id"] for job in claim_due_jobs(engine, retry_at, lease_seconds=60, limit=10)] == [failed["id"]]


def test_the_same_submission_from_several_action_servers_at_once_is_stored_once(url: str) -> None:
    """Retries of one submission racing each other (e.g. a call repeated on another action server)."""
    servers = [make_engine(url) for _ in range(2)]
    tries = 8
    start = threading.Barrier(tries)
    references: List[str] = []
    errors: List[BaseException] = []

    def submit(n: int) -> None:
        try:
            start.wait()
            references.append(
                save_referral(servers[n % 2], make_record(f"COSP-TRY{n:02d}", "submission-1"), channels=("email", "telegram"))
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(references) == tries and len(set(references)) == 1
    jobs = list_deliveries(servers[0])
    assert sorted((job["reference"], job["channel"]) for job in jobs) == [(references[0], "email"), (references[0], "telegram")]
    for server in servers:
        server.dispose()


def test_on_postgresql_a_worker_passes_over_jobs_another_is_claiming_without_waiting(postgres_url: str) -> None:
    with fresh_database(postgres_url) as url:
        engine = make_engine(url)
        impatient = make_engine(url + "?options=-c%20lock_timeout%3D2000")  # waiting for a lock fails, not hangs
        save_many(engine, 3)
        now = later()
        with engine.connect() as other_worker, other_worker.begin():
            (held,) = other_worker.execute(
                select(deliveries.c.id).order_by(deliveries.c.id).limit(1).with_for_update()
            ).scalars().all()

            jobs = claim_due_jobs(impatient, now, lease_seconds=60, limit=10)

            assert len(jobs) == 2 and held not in {job["id"] for job in jobs}
        assert [job["id"] for job in claim_due_jobs(impatient, now, lease_seconds=60, limit=10)] == [held]
        impatient.dispose()
        engine.dispose()


def test_a_claim_whose_lease_ran_out_and_was_taken_again_cannot_mark_the_job(engine: Engine) -> None:
    save_many(engine, 1)
    now = later()
    (stale,) = claim_due_jobs(engine, now, lease_seconds=60, limit=10)
    (current,) = claim_due_jobs(engine, now + timedelta(seconds=61), lease_seconds=60, limit=10)  # another worker
    assert stale["id"] == current["id"] and stale["claim_token"] != current["claim_token"]
    retry_at = now + timedelta(seconds=300)

    assert mark_sent(engine, stale["id"], now + timedelta(seconds=62), claim_token=stale["claim_token"]) is False
    assert mark_failed(engine, stale["id"], now, "late", retry_at, claim_token=stale["claim_token"]) is False
    (job,) = list_deliveries(engine)
    assert (job["status"], job["attempts"], job["last_error"]) == ("pending", 2, None)
    assert job["next_attempt_at"] < retry_at and job["locked_until"] == now + timedelta(seconds=121)

    assert mark_sent(engine, current["id"], now + timedelta(seconds=63), claim_token=current["claim_token"]) is True
    assert [job["status"] for job in list_deliveries(engine)] == ["sent"]


def test_a_claim_whose_lease_ran_out_unclaimed_still_marks_the_job(engine: Engine) -> None:
    """A slow send is recorded when nobody has taken the job over: no reason to send it again."""
    save_many(engine, 1)
    now = later()
    (job,) = claim_due_jobs(engine, now, lease_seconds=60, limit=10)

    assert mark_sent(engine, job["id"], now + timedelta(seconds=600), claim_token=job["claim_token"]) is True
    assert [job["status"] for job in list_deliveries(engine)] == ["sent"]


def test_on_postgresql_the_next_call_after_its_connections_were_cut_succeeds(postgres_url: str) -> None:
    """What a PostgreSQL restart does to the pool: every connection in it is dead."""
    with fresh_database(postgres_url) as url:
        engine = make_engine(url)
        save_referral(engine, make_record())  # a connection now waits in the pool
        with create_engine(url, future=True).connect() as admin:
            cut = admin.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            ).scalar_one()
        assert cut >= 1

        referral = get_referral(engine, "COSP-ABCDE")

        assert referral is not None and referral["reference"] == "COSP-ABCDE"
        engine.dispose()
