"""Keeping parents' data only as long as needed (RETENTION_DAYS, default 30).

- A conversation (Rasa's tracker events) idle for longer than that is deleted.
- A referral delivered to staff on every channel, older than that, is cut down to a delivery record
  (reference, dates, status and the hashed contact keys used to flag duplicates): staff have the
  referral itself. The record goes too after DUPLICATE_WINDOW_DAYS (90), the duplicate window.
  A referral not yet delivered is never touched.
- Conversations a parent asked to erase are erased once idle (see erasure.py).

`make purge` runs it once (`python -m actions.privacy.retention`); the delivery worker runs it every
hour and the erasures every round."""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, select, update
from rasa.core.lock_store import LockStore
from sqlalchemy.engine import Engine

from actions.delivery.store import DUPLICATE_WINDOW_DAYS, PENDING, deliveries, make_engine, referrals
from actions.privacy import conversations, erasure
from bot.lock_store import lock_store_for
from bot.logging_setup import start_process

log = logging.getLogger("actions.privacy.retention")


@dataclass(frozen=True)
class Purged:
    conversations: int
    referrals: int  # cut down to delivery records
    records_deleted: int
    erased_on_request: int


def purge(store: Engine, tracker: Engine, retention_days: int, now: datetime, *, locks: LockStore) -> Purged:
    cutoff = now - timedelta(days=retention_days)
    stale = [sender_id for sender_id in conversations.idle_since(tracker, cutoff.timestamp())
             if conversations.delete_if_idle(tracker, locks, sender_id, cutoff.timestamp())]
    still_pending = exists().where(and_(deliveries.c.referral_id == referrals.c.id, deliveries.c.status == PENDING))
    record_cutoff = now - timedelta(days=max(retention_days, DUPLICATE_WINDOW_DAYS))
    with store.begin() as conn:
        expired = conn.execute(
            select(referrals.c.id).where(referrals.c.created_at < record_cutoff).where(~still_pending)
        ).scalars().all()
        for referral_id in expired:
            erasure.delete_referral(conn, referral_id)
        scrubbed = conn.execute(
            update(referrals)
            .where(referrals.c.created_at < cutoff)
            .where(~still_pending)
            .where(referrals.c.consent_text != "")
            .values(answers_json=[], data_json={}, consent_text="", conversation_id=None)
        ).rowcount
    erased = erasure.erase_idle_conversations(store, tracker, now, locks=locks)
    return Purged(conversations=len(stale), referrals=scrubbed, records_deleted=len(expired), erased_on_request=erased)


def main() -> int:
    settings = start_process(log)
    if settings is None:
        return 2
    result = purge(
        make_engine(settings.database_url),
        conversations.tracker_store(settings.tracker_database_url),
        settings.retention_days,
        datetime.now(timezone.utc),
        locks=lock_store_for(settings),
    )
    log.info(
        "purged after %d days: %d conversations, %d delivered referrals cut to delivery records, %d records deleted;"
        " %d conversations erased on request",
        settings.retention_days, result.conversations, result.referrals, result.records_deleted, result.erased_on_request,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())


PURGE_EVERY_SECONDS = 3600.0
ERASURES_EVERY_SECONDS = 10.0


def run_housekeeping(store: Engine, settings, stop) -> None:
    """Erasures every few seconds and the retention purge every hour, until `stop` is set.
    Runs beside the delivery worker (its own thread); a failed round is logged and tried again."""
    tracker = conversations.tracker_store(settings.tracker_database_url)
    locks = lock_store_for(settings)
    next_purge = 0.0
    while not stop.is_set():
        now = datetime.now(timezone.utc)
        try:
            if now.timestamp() >= next_purge:
                result = purge(store, tracker, settings.retention_days, now, locks=locks)
                next_purge = now.timestamp() + PURGE_EVERY_SECONDS
                log.info("retention purge: %d conversations, %d delivered referrals, %d erased on request",
                         result.conversations, result.referrals, result.erased_on_request)
            else:
                erased = erasure.erase_idle_conversations(store, tracker, now, locks=locks)
                if erased:
                    log.info("erased %d conversations on request", erased)
        except Exception as error:  # keep going: the next round may succeed
            log.error("housekeeping round failed: %s", type(error).__name__)
        stop.wait(ERASURES_EVERY_SECONDS)
    tracker.dispose()
