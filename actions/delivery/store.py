"""The referral store and its outbox: one `referrals` row per submission and one `deliveries` job per
way of reaching staff, written in the same transaction so a referral is never stored without its jobs.

SQLAlchemy 1.4 Core with the 2.0-style API (`future=True`), SQLite by default, PostgreSQL in production.
Every timestamp is stored as naive UTC and handed back timezone-aware (UTC). The tables below are what
the migrations (migrate.py) make: change both together.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator

from bot import sqlite_pragmas
from actions.delivery.migrate import upgrade
from actions.referral.questions import EMAIL, NOT_GIVEN, PHONE
from actions.referral.record import ReferralRecord

PENDING = "pending"
SENT = "sent"
NEW = "new"  # referral statuses: received, then contacted by staff
CONTACTED = "contacted"
LAST_ERROR_MAX_CHARS = 200
DUPLICATE_WINDOW_DAYS = 90  # an earlier referral with the same family phone or email this recent is flagged


class ReferenceTaken(Exception):
    """Another submission already holds this reference: pick a new one and save again."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"reference {reference} is already taken")
        self.reference = reference


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (comparable as text in SQLite), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


metadata = MetaData()

referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("submission_key", String(128), nullable=False, unique=True),
    Column("referral_type", String(32), nullable=False),
    Column("answers_json", JSON, nullable=False),  # [[label, value], ...] in the order staff read them
    Column("data_json", JSON, nullable=False),
    Column("consent_version", String(32), nullable=False),
    Column("consent_text", Text, nullable=False),
    Column("consent_given_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, default=NEW, server_default=NEW),
    Column("conversation_id", String(128), nullable=True, index=True),
    Column("contacted_at", UTCDateTime, nullable=True),
    # SHA-256 hex digests of the family's phone and email (see contact_keys), to find duplicates
    Column("contact_keys", JSON, nullable=True),
    # the reference of the most recent earlier referral (within DUPLICATE_WINDOW_DAYS) sharing a contact key
    Column("duplicate_of", String(16), nullable=True),
    # the kinds of safety reply given in the conversation (actions/referral/signposting.py), never the words
    Column("safety_kinds", JSON, nullable=True),
)

# The earlier referral a duplicate points at, joined in to show staff when it was received.
_earlier = referrals.alias("earlier")

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", Integer, ForeignKey("referrals.id"), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False, default=PENDING, server_default=PENDING),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_error", String(LAST_ERROR_MAX_CHARS), nullable=True),  # class name / status code only
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # set with each lease: only the claim that holds it may mark the job sent or failed
    Column("claim_token", String(32), nullable=True),
    UniqueConstraint("referral_id", "channel", name="uq_deliveries_referral_channel"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)


def make_engine(database_url: str) -> Engine:
    """An engine for the referral store, its schema migrated to the newest revision; for SQLite also
    its folder and the connection settings of sqlite_pragmas.configure (WAL journalling, writers that
    wait their turn); elsewhere connections checked before use, so a restarted PostgreSQL only costs a
    reconnect."""
    url = make_url(database_url)
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite and url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        json_serializer=lambda value: json.dumps(value, ensure_ascii=False, default=str),
        **({} if is_sqlite else {"pool_pre_ping": True}),
    )
    if is_sqlite:
        event.listen(engine, "connect", sqlite_pragmas.configure)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def save_referral(engine: Engine, record: ReferralRecord, channels: Sequence[str] = ("email",)) -> str:
    """Stores the referral and one pending delivery per channel in one transaction; returns its reference.

    The same submission_key saved again (a retried submission) stores nothing and returns the reference
    stored the first time. Raises ReferenceTaken when another submission already has this reference.
    A referral sharing the family's phone or email with one received in the last DUPLICATE_WINDOW_DAYS
    is stored all the same, with `duplicate_of` naming the most recent such referral, for staff to check.
    """
    existing = _reference_for_submission(engine, record.submission_key)
    if existing is not None:
        return existing
    now = utcnow()
    keys = contact_keys(record.data)
    try:
        with engine.begin() as conn:
            duplicate_of = _recent_referral_sharing(conn, keys, now)
            referral_id = conn.execute(
                insert(referrals).values(
                    reference=record.reference,
                    submission_key=record.submission_key,
                    referral_type=record.referral_type,
                    answers_json=[[label, value] for label, value in record.answers],
                    data_json=dict(record.data),
                    safety_kinds=list(record.safety_kinds) or None,
                    consent_version=record.consent_version,
                    consent_text=record.consent_text,
                    consent_given_at=record.consent_given_at,
                    created_at=now,
                    conversation_id=record.conversation_id or None,
                    contact_keys=keys,
                    duplicate_of=duplicate_of,
                )
            ).inserted_primary_key[0]
            if channels:
                conn.execute(
                    insert(deliveries),
                    [
                        {
                            "referral_id": referral_id,
                            "channel": channel,
                            "status": PENDING,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                        for channel in channels
                    ],
                )
    except IntegrityError:
        # Lost a race with the same submission saved concurrently, or the reference is someone else's.
        existing = _reference_for_submission(engine, record.submission_key)
        if existing is not None:
            return existing
        if _referral_id(engine, record.reference) is not None:
            raise ReferenceTaken(record.reference) from None
        raise
    return record.reference


def contact_keys(data: Mapping[str, Any]) -> List[str]:
    """SHA-256 hex digests of "phone:" + the family's phone (E.164, exact) and "email:" + their email
    (lower-cased), for those given. The referrer's own work contact is not the family's and is left out."""
    keys = []
    phone = _given(data.get(PHONE))
    if phone:
        keys.append(_digest("phone:" + phone))
    email = _given(data.get(EMAIL))
    if email:
        keys.append(_digest("email:" + email.lower()))
    return keys


def latest_referrals(engine: Engine, limit: int = 10) -> List[Dict[str, Any]]:
    """The newest referrals first, for staff."""
    with engine.connect() as conn:
        rows = conn.execute(_select_referrals().order_by(referrals.c.created_at.desc(), referrals.c.id.desc()).limit(limit)).mappings().all()
    return [_referral_dict(row) for row in rows]


def referrals_for_conversation(engine: Engine, conversation_id: str) -> List[Dict[str, Any]]:
    """The referrals made in one conversation, newest first: what that conversation may ask about."""
    if not conversation_id:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            _select_referrals()
            .where(referrals.c.conversation_id == conversation_id)
            .order_by(referrals.c.created_at.desc(), referrals.c.id.desc())
        ).mappings().all()
    return [_referral_dict(row) for row in rows]


def mark_contacted(engine: Engine, reference: str, now: datetime) -> bool:
    """Records that staff have contacted the family; False when there is no such referral."""
    with engine.begin() as conn:
        result = conn.execute(
            update(referrals).where(referrals.c.reference == reference).values(status=CONTACTED, contacted_at=as_utc(now))
        )
    return result.rowcount == 1


def get_referral(engine: Engine, reference: str) -> Optional[Dict[str, Any]]:
    """The stored referral as a dict (answers as (label, value) tuples, data as a dict), or None."""
    with engine.connect() as conn:
        row = conn.execute(_select_referrals().where(referrals.c.reference == reference)).mappings().first()
    return _referral_dict(row) if row is not None else None


def list_deliveries(engine: Engine, reference: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every delivery job (of one referral when a reference is given), oldest first, with its reference."""
    query = (
        select(deliveries, referrals.c.reference)
        .join(referrals, deliveries.c.referral_id == referrals.c.id)
        .order_by(deliveries.c.id)
    )
    if reference is not None:
        query = query.where(referrals.c.reference == reference)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def claim_due_jobs(engine: Engine, now: datetime, lease_seconds: float, limit: int) -> List[Dict[str, Any]]:
    """Leases up to `limit` due jobs until now + lease_seconds and returns them, each with its referral
    under "referral", its attempts already counting this one, and the "claim_token" that mark_sent and
    mark_failed need: once the lease has run out and another worker has claimed the job, ours is void.

    Safe with several workers. PostgreSQL: one transaction takes the jobs with SELECT ... FOR UPDATE
    SKIP LOCKED, so concurrent workers pass over each other's rows. SQLite (one writer at a time): a job
    is only ours if our conditional UPDATE changed it, each its own short transaction so that writers
    queue on busy_timeout instead of failing.
    """
    now = as_utc(now)
    due = and_(
        deliveries.c.status == PENDING,
        deliveries.c.next_attempt_at <= now,
        or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until < now),
    )
    oldest_first = select(deliveries.c.id).where(due).order_by(deliveries.c.next_attempt_at, deliveries.c.id).limit(limit)
    token = uuid.uuid4().hex
    lease = {"locked_until": now + timedelta(seconds=lease_seconds), "attempts": deliveries.c.attempts + 1, "claim_token": token}
    claimed: List[int] = []
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            claimed = list(conn.execute(oldest_first.with_for_update(skip_locked=True)).scalars())
            if claimed:
                conn.execute(update(deliveries).where(deliveries.c.id.in_(claimed)).values(**lease))
    else:
        with engine.connect() as conn:
            candidates = conn.execute(oldest_first).scalars().all()
        for job_id in candidates:
            with engine.begin() as conn:
                if conn.execute(update(deliveries).where(deliveries.c.id == job_id, due).values(**lease)).rowcount == 1:
                    claimed.append(job_id)
    jobs = _jobs_with_referrals(engine, claimed)
    for job in jobs:
        job["claim_token"] = token  # ours, whatever the row says by now
    return jobs


def mark_sent(engine: Engine, job_id: int, now: datetime, *, claim_token: str) -> bool:
    """Records a delivered job; returns False, changing nothing, if our claim is no longer current
    (the job was marked already, or re-claimed by another worker after our lease ran out)."""
    now = as_utc(now)
    with engine.begin() as conn:
        result = conn.execute(
            update(deliveries)
            .where(_still_ours(job_id, claim_token))
            .values(status=SENT, sent_at=now, last_attempt_at=now, locked_until=None, last_error=None, claim_token=None)
        )
    return result.rowcount == 1


def mark_failed(
    engine: Engine, job_id: int, now: datetime, error: str, next_attempt_at: datetime, *, claim_token: str
) -> bool:
    """Records a failed attempt and when to try again; `error` must hold no personal data (it is cut short).
    Returns False, changing nothing, if our claim is no longer current (see mark_sent)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(deliveries)
            .where(_still_ours(job_id, claim_token))
            .values(
                last_error=error[:LAST_ERROR_MAX_CHARS],
                last_attempt_at=as_utc(now),
                next_attempt_at=as_utc(next_attempt_at),
                locked_until=None,
                claim_token=None,
            )
        )
    return result.rowcount == 1


def _still_ours(job_id: int, claim_token: str) -> Any:
    return and_(deliveries.c.id == job_id, deliveries.c.status == PENDING, deliveries.c.claim_token == claim_token)


def _given(value: Any) -> Optional[str]:
    """The value stripped, or None when it is missing, empty, not text or "not given"."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and value.lower() != NOT_GIVEN else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _recent_referral_sharing(conn: Any, keys: Sequence[str], now: datetime) -> Optional[str]:
    """The reference of the most recent referral created in the last DUPLICATE_WINDOW_DAYS sharing one
    of these contact keys, or None. Compared in Python (portable across SQLite and PostgreSQL JSON);
    a window's worth of referrals is small."""
    if not keys:
        return None
    wanted = set(keys)
    since = now - timedelta(days=DUPLICATE_WINDOW_DAYS)
    candidates = conn.execute(
        select(referrals.c.reference, referrals.c.contact_keys)
        .where(referrals.c.created_at >= since)
        .order_by(referrals.c.created_at.desc(), referrals.c.id.desc())
    )
    for reference, their_keys in candidates:
        if their_keys and wanted.intersection(their_keys):
            return reference
    return None


def _select_referrals() -> Any:
    """Referral rows, each with the time its duplicate_of referral was received (None if there is none
    or it has since been deleted) as duplicate_of_created_at."""
    return select(referrals, _earlier.c.created_at.label("duplicate_of_created_at")).select_from(
        referrals.outerjoin(_earlier, _earlier.c.reference == referrals.c.duplicate_of)
    )


def _reference_for_submission(engine: Engine, submission_key: str) -> Optional[str]:
    with engine.connect() as conn:
        return conn.execute(
            select(referrals.c.reference).where(referrals.c.submission_key == submission_key)
        ).scalar_one_or_none()


def _referral_id(engine: Engine, reference: str) -> Optional[int]:
    with engine.connect() as conn:
        return conn.execute(select(referrals.c.id).where(referrals.c.reference == reference)).scalar_one_or_none()


def _jobs_with_referrals(engine: Engine, job_ids: Iterable[int]) -> List[Dict[str, Any]]:
    job_ids = list(job_ids)
    if not job_ids:
        return []
    with engine.connect() as conn:
        jobs = [
            dict(row)
            for row in conn.execute(
                select(deliveries).where(deliveries.c.id.in_(job_ids)).order_by(deliveries.c.id)
            ).mappings()
        ]
        referral_ids = {job["referral_id"] for job in jobs}
        by_id = {
            row["id"]: _referral_dict(row)
            for row in conn.execute(_select_referrals().where(referrals.c.id.in_(referral_ids))).mappings()
        }
    for job in jobs:
        job["referral"] = by_id[job["referral_id"]]
        job["reference"] = job["referral"]["reference"]
    return jobs


def _referral_dict(row: Any) -> Dict[str, Any]:
    return {
        "id": row["id"],
        "reference": row["reference"],
        "submission_key": row["submission_key"],
        "referral_type": row["referral_type"],
        "answers": [(label, value) for label, value in row["answers_json"]],
        "data": row["data_json"],
        "consent_version": row["consent_version"],
        "consent_text": row["consent_text"],
        "consent_given_at": row["consent_given_at"],
        "created_at": row["created_at"],
        "status": row["status"],
        "conversation_id": row["conversation_id"],
        "contacted_at": row["contacted_at"],
        "duplicate_of": row["duplicate_of"],
        "safety_kinds": list(row["safety_kinds"] or []),
        "duplicate_of_created_at": row.get("duplicate_of_created_at"),
    }


def pending_deliveries(engine: Engine) -> Tuple[int, Optional[datetime], Optional[int]]:
    """How many delivery jobs are pending, when the oldest was created and its id (None, None: none)."""
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(deliveries).where(deliveries.c.status == PENDING)).scalar_one()
        oldest = conn.execute(
            select(deliveries.c.created_at, deliveries.c.id).where(deliveries.c.status == PENDING)
            .order_by(deliveries.c.created_at, deliveries.c.id).limit(1)
        ).first()
    return int(count), (oldest[0] if oldest else None), (oldest[1] if oldest else None)
