"""Retention, erasure on request and withdrawal: what is deleted, what is kept, and when."""
from __future__ import annotations

import email
import functools
import email.policy
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from actions.delivery.store import claim_due_jobs, deliveries, get_referral, list_deliveries, make_engine, mark_sent, referrals, save_referral
from actions.delivery.withdrawal import CHANNEL as WITHDRAWAL, request_withdrawal
from actions.delivery.worker import DeliveryWorker
from actions.privacy import conversations
from actions.privacy.erasure import ERASE_AFTER_IDLE_SECONDS, erase_idle_conversations, erase_now, withdraw_before_delivery
from actions.privacy.retention import purge
from bot.lock_store import FileLockStore
from bot.settings import load_settings
from deploy.cluster import wait_until
from tests.support import ROOT
from tests.test_store import make_record

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@functools.lru_cache(maxsize=1)
def _domain():
    from rasa.shared.core.domain import Domain

    return Domain.from_path(ROOT / "domain.yml")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Engine]:
    engine = conversations.tracker_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    conversations.events.create(engine)  # as Rasa would (it has more columns)
    yield engine
    engine.dispose()


@pytest.fixture
def locks(tmp_path: Path) -> FileLockStore:
    return FileLockStore(directory=tmp_path / "locks")


def race_turn(tracker_url: str, sender: str, locks: FileLockStore, ready: threading.Event, go: threading.Event) -> None:
    """A turn as Rasa runs one: the lock, the conversation read, the reply, the conversation saved."""
    import asyncio

    from rasa.shared.core.events import UserUttered

    from bot.tracker_store import GuardedSQLTrackerStore

    async def turn() -> None:
        store = GuardedSQLTrackerStore(domain=_domain(), url=tracker_url)
        async with locks.lock(sender):
            tracker = await store.retrieve(sender)
            ready.set()
            go.wait(30)  # the erasure starts here, while the turn is in flight
            tracker.update(UserUttered("one more message"))
            await store.save(tracker)

    asyncio.run(turn())


def test_a_turn_in_flight_never_writes_an_erased_conversation_back(tmp_path, store, locks):
    """The erasure waits for the turn's lock; without it, the turn's save restores every event."""
    import asyncio

    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import GuardedSQLTrackerStore

    url = f"sqlite:///{tmp_path / 'race.db'}"
    sender = "web:racing"
    seed = GuardedSQLTrackerStore(domain=_domain(), url=url)
    tracker = DialogueStateTracker(sender, _domain().slots)
    for text in ("hello", "please delete my data", "yes, delete it"):
        tracker.update(UserUttered(text))
        tracker.update(ActionExecuted("action_listen"))
    asyncio.run(seed.save(tracker))
    erase_now(store, sender, NOW)
    engine = conversations.tracker_store(url)

    ready, go = threading.Event(), threading.Event()
    turn = threading.Thread(target=race_turn, args=(url, sender, locks, ready, go))
    turn.start()
    assert ready.wait(30)
    later = datetime.now(timezone.utc) + timedelta(minutes=5)
    erasing = threading.Thread(target=erase_idle_conversations, args=(store, engine, later), kwargs={"locks": locks})
    erasing.start()
    wait_until(lambda: locks.waiting(sender) == 1 or not erasing.is_alive(),
               "the erasure waiting behind the turn, or done", 30)
    assert conversations.last_activity(engine, sender) is not None  # not deleted under the turn's feet
    go.set()
    turn.join(30)
    erasing.join(90)
    assert not erasing.is_alive() and not turn.is_alive()
    assert conversations.last_activity(engine, sender) is None, "the turn wrote the erased conversation back"
    assert not locks.is_held(sender)  # returned by both


def add_events(tracker: Engine, sender: str, when: datetime, count: int = 3) -> None:
    with tracker.begin() as conn:
        conn.execute(insert(conversations.events), [
            {"sender_id": sender, "type_name": "user", "timestamp": when.timestamp() + i} for i in range(count)
        ])


def senders(tracker: Engine) -> set:
    with tracker.connect() as conn:
        return set(conn.execute(select(conversations.events.c.sender_id)).scalars())


def stored(store: Engine, reference: str, conversation: str, created: datetime, delivered: bool) -> int:
    record = replace(make_record(reference, f"key-{reference}"), conversation_id=conversation)
    save_referral(store, record)
    with store.begin() as conn:
        conn.execute(update(referrals).where(referrals.c.reference == reference).values(created_at=created))
    row = get_referral(store, reference)
    if delivered:
        for job in claim_due_jobs(store, datetime.now(timezone.utc) + timedelta(minutes=1), 60, 10):
            if job["reference"] == reference:
                assert mark_sent(store, job["id"], NOW, claim_token=job["claim_token"])
            else:  # someone else's job: leave it pending
                with store.begin() as conn:
                    conn.execute(update(deliveries).where(deliveries.c.id == job["id"]).values(locked_until=None))
    return row["id"]


def test_purge_deletes_idle_conversations_and_cuts_old_delivered_referrals_to_records(store, tracker, locks):
    add_events(tracker, "web:old", NOW - timedelta(days=31))
    add_events(tracker, "web:recent", NOW - timedelta(days=29))
    stored(store, "COSP-AAAAA", "web:old", NOW - timedelta(days=40), delivered=True)
    stored(store, "COSP-BBBBB", "web:old2", NOW - timedelta(days=400), delivered=False)  # never touched
    stored(store, "COSP-CCCCC", "web:new", NOW - timedelta(days=2), delivered=True)
    stored(store, "COSP-DDDDD", "web:older", NOW - timedelta(days=91), delivered=True)

    result = purge(store, tracker, retention_days=30, now=NOW, locks=locks)

    assert senders(tracker) == {"web:recent"}
    record = get_referral(store, "COSP-AAAAA")  # staff have it: we keep only a delivery record
    assert record["answers"] == [] and record["data"] == {} and record["consent_text"] == ""
    assert record["conversation_id"] is None and record["created_at"] is not None
    assert get_referral(store, "COSP-DDDDD") is None and list_deliveries(store, "COSP-DDDDD") == []
    untouched = get_referral(store, "COSP-BBBBB")
    assert untouched is not None and untouched["answers"] != []  # not delivered yet: kept whole however old
    assert get_referral(store, "COSP-CCCCC")["answers"] != []
    assert (result.conversations, result.referrals, result.records_deleted) == (1, 1, 1)
    assert purge(store, tracker, retention_days=30, now=NOW, locks=locks).referrals == 0  # nothing twice


def test_delete_my_data_deletes_unsent_referrals_at_once_and_the_conversation_once_idle(store, tracker, locks):
    stored(store, "COSP-SENTX", "web:me", NOW - timedelta(days=1), delivered=True)
    stored(store, "COSP-UNSNT", "web:me", NOW, delivered=False)
    stored(store, "COSP-OTHER", "web:someone-else", NOW, delivered=False)
    add_events(tracker, "web:me", NOW)
    add_events(tracker, "web:someone-else", NOW)

    erased = erase_now(store, "web:me", NOW)

    assert erased.referrals_deleted == ["COSP-UNSNT"] and erased.referrals_kept_by_staff == ["COSP-SENTX"]
    assert get_referral(store, "COSP-UNSNT") is None
    assert get_referral(store, "COSP-SENTX")["conversation_id"] is None  # staff keep it, unlinked from the chat
    assert get_referral(store, "COSP-OTHER") is not None
    assert erase_idle_conversations(store, tracker, NOW + timedelta(seconds=5), locks=locks) == 0  # Rasa may still be writing
    assert "web:me" in senders(tracker)
    assert erase_idle_conversations(store, tracker, NOW + timedelta(seconds=ERASE_AFTER_IDLE_SECONDS + 5), locks=locks) == 1
    assert senders(tracker) == {"web:someone-else"}
    assert erase_idle_conversations(store, tracker, NOW + timedelta(hours=1), locks=locks) == 0  # done once


def test_withdrawing_an_unsent_referral_deletes_it_and_staff_never_hear(store):
    referral_id = stored(store, "COSP-WDRAW", "web:me", NOW, delivered=False)
    assert withdraw_before_delivery(store, referral_id)
    assert get_referral(store, "COSP-WDRAW") is None


def test_withdrawing_a_delivered_referral_tells_staff_once_by_email(store, tmp_path):
    referral_id = stored(store, "COSP-WSENT", "web:me", NOW, delivered=True)
    assert not withdraw_before_delivery(store, referral_id)
    request_withdrawal(store, referral_id, NOW)
    request_withdrawal(store, referral_id, NOW)  # asked twice: told once
    assert [d["channel"] for d in list_deliveries(store, "COSP-WSENT")].count(WITHDRAWAL) == 1
    assert get_referral(store, "COSP-WSENT")["status"] == "withdrawn"

    settings = load_settings({"COSP_VAR_DIR": str(tmp_path)})
    DeliveryWorker(store, settings).run_once(now=datetime.now(timezone.utc) + timedelta(minutes=1))
    mail = tmp_path / "mail" / "COSP-WSENT-withdrawn.eml"
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "COSP referral COSP-WSENT withdrawn"
    assert "withdrawn referral COSP-WSENT" in message.get_body(("plain",)).get_content()


def test_housekeeping_before_rasa_has_started_leaves_rasas_table_to_rasa(store, tmp_path, locks):
    from sqlalchemy import inspect

    fresh = conversations.tracker_store(f"sqlite:///{tmp_path / 'not-yet' / 'tracker.db'}")
    assert purge(store, fresh, retention_days=30, now=NOW, locks=locks).conversations == 0
    assert erase_idle_conversations(store, fresh, NOW, locks=locks) == 0
    assert not inspect(fresh).has_table("events")  # Rasa would otherwise find a table missing its columns
