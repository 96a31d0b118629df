"""The delivery worker: takes due jobs from the outbox and delivers each through its channel's sender,
retrying failures with exponential backoff, forever. Several workers may run at once.

Run it with `python -m actions.delivery.worker` (until Ctrl-C / SIGTERM), or add `--once` to deliver
what is due now and exit.
"""
from __future__ import annotations

import argparse
import logging
import signal
import smtplib
import sys
import threading
from datetime import datetime, timedelta
from types import FrameType
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from sqlalchemy.engine import Engine

from actions.delivery import metrics
from actions.delivery.alarm import StuckDeliveryAlarm
from actions.delivery.email import build_referral_email
from actions.delivery.senders import EmailSender, email_sender_for
from actions.delivery.withdrawal import CHANNEL as WITHDRAWAL, WithdrawalChannel
from actions.delivery.telegram_staff import TelegramSendFailed, TelegramStaffChannel
from actions.delivery.store import claim_due_jobs, make_engine, mark_failed, mark_sent, utcnow
from actions.privacy.retention import run_housekeeping
from bot import heartbeat
from bot.logging_setup import start_process
from bot.settings import Settings

log = logging.getLogger("actions.delivery.worker")  # not __name__: "__main__" under -m

DEFAULT_BATCH_SIZE = 20
MIN_LEASE_SECONDS = 300.0

# Delivers one stored referral (a dict as store.get_referral returns it) to staff; raises on failure.
Channel = Callable[[Mapping[str, Any]], None]


class EmailChannel:
    """Staff email: the referral email, through SMTP or the mail drop."""

    def __init__(self, settings: Settings, sender: Optional[EmailSender] = None) -> None:
        self._settings = settings
        self._sender = sender if sender is not None else email_sender_for(settings)

    def __call__(self, referral: Mapping[str, Any]) -> None:
        message = build_referral_email(referral, self._settings)
        self._sender.send(message, referral["reference"])


# The channel registry: a job's `channel` names its entry. Add a way of reaching staff here.
CHANNELS: Dict[str, Callable[[Settings], Channel]] = {
    "email": EmailChannel,
    "telegram": TelegramStaffChannel,
    WITHDRAWAL: WithdrawalChannel,
}


def default_channels(settings: Settings) -> Dict[str, Channel]:
    return {name: factory(settings) for name, factory in CHANNELS.items()}


class UnknownChannel(Exception):
    """A job names a channel this worker has no sender for; it is retried like any failure."""


def retry_delay(attempts: int, max_seconds: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: 2**attempts * 2, at most max_seconds."""
    return float(min(2 ** min(max(attempts, 0), 32) * 2, max_seconds))


def error_summary(exc: BaseException) -> str:
    """The exception's class name and SMTP status code(s): never its message, which may echo an address."""
    summary = type(exc).__name__
    codes = []
    if isinstance(exc, smtplib.SMTPResponseException):
        codes.append(exc.smtp_code)
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes.extend(code for code, _ in exc.recipients.values())
    elif isinstance(exc, TelegramSendFailed):
        codes.append(exc.code)
    return " ".join([summary, *(str(code) for code in codes)])


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        channels: Optional[Mapping[str, Channel]] = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lease_seconds: Optional[float] = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.channels: Dict[str, Channel] = dict(channels) if channels is not None else default_channels(settings)
        self.batch_size = batch_size
        # Long enough for a whole batch of slow sends; only a crashed worker's jobs wait this long.
        self.lease_seconds = (
            lease_seconds
            if lease_seconds is not None
            else max(MIN_LEASE_SECONDS, batch_size * settings.smtp_timeout * 4)
        )
        self._stop_event: Optional[threading.Event] = None
        self.alarm = StuckDeliveryAlarm(engine, settings)

    def run_once(self, now: Optional[datetime] = None) -> int:
        """Delivers every job due at `now` (default: the moment of the call), batch after batch;
        returns how many were delivered. Failed jobs are rescheduled after `now`, so this ends."""
        started = utcnow()
        moment = now if now is not None else started
        delivered = 0
        while not (self._stop_event is not None and self._stop_event.is_set()):
            # With the real clock, keep each batch's lease its full length however long earlier batches took.
            lease = self.lease_seconds + (0.0 if now is not None else (utcnow() - started).total_seconds())
            jobs = claim_due_jobs(self.engine, moment, lease, self.batch_size)
            for job in jobs:
                delivered += self._deliver(job, now)
            if len(jobs) < self.batch_size:
                break
        return delivered

    def run_forever(self, stop_event: threading.Event) -> None:
        """Runs rounds every settings.delivery_poll_seconds until stop_event is set; a round that fails
        (e.g. the database is unreachable) is logged and the next one tried."""
        self._stop_event = stop_event
        try:
            while not stop_event.is_set():
                try:
                    self.run_once()
                    heartbeat.beat(self.settings.var_dir, "worker")  # only a round that reached the store
                    self.check_alarm()
                except Exception as exc:  # keep polling: the next round may succeed
                    log.error("delivery round failed: %s", type(exc).__name__)
                    log.debug("delivery round failure details", exc_info=True)
                stop_event.wait(self.settings.delivery_poll_seconds)
        finally:
            self._stop_event = None

    def check_alarm(self, now: Optional[datetime] = None) -> bool:
        """Raises the stuck-delivery alarm once for a job waiting past DELIVERY_ALERT_MINUTES."""
        return self.alarm.check(now if now is not None else utcnow())

    def _deliver(self, job: Mapping[str, Any], now: Optional[datetime]) -> int:
        reference, job_id, channel, attempts = job["reference"], job["id"], job["channel"], job["attempts"]
        token = job["claim_token"]
        try:
            deliver = self.channels.get(channel)
            if deliver is None:
                raise UnknownChannel(channel)
            deliver(job["referral"])
        except Exception as exc:
            finished = now if now is not None else utcnow()
            error = error_summary(exc)
            metrics.FAILURES.labels(channel=channel).inc()
            delay = retry_delay(attempts, self.settings.delivery_max_backoff_seconds)
            if isinstance(exc, TelegramSendFailed) and exc.retry_after:
                delay = max(delay, float(exc.retry_after))  # Telegram's 429 says how long to wait
            ours = mark_failed(self.engine, job_id, finished, error, finished + timedelta(seconds=delay), claim_token=token)
            log.warning(
                "delivery failed: reference=%s job=%s channel=%s attempt=%d error=%s; %s",
                reference, job_id, channel, attempts, error,
                f"retrying in {delay:.0f} s" if ours else "another worker has claimed it since",
            )
            log.debug("delivery failure details", exc_info=True)
            return 0
        if not mark_sent(self.engine, job_id, now if now is not None else utcnow(), claim_token=token):
            # Our lease ran out mid-send and another worker claimed the job (staff may get it twice, with
            # the same Message-ID; that worker records the outcome), or the job was erased meanwhile.
            log.warning("delivered but no longer ours to record: reference=%s job=%s channel=%s", reference, job_id, channel)
            return 1
        log.info("delivered: reference=%s job=%s channel=%s attempt=%d", reference, job_id, channel, attempts)
        return 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.delivery.worker", description="Deliver stored referrals to staff.")
    parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    args = parser.parse_args(argv)
    settings = start_process(log)
    if settings is None:
        return 2
    log.info("settings: %s", settings.masked())
    engine = make_engine(settings.database_url)
    try:
        worker = DeliveryWorker(engine, settings)
        metrics.serve(engine, settings.metrics_port)
        log.info("delivery worker started: channels=%s", ",".join(sorted(worker.channels)))
        if args.once:
            log.info("delivered %d", worker.run_once())
            return 0
        stop = threading.Event()

        def request_stop(signum: int, frame: Optional[FrameType]) -> None:
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        housekeeping = threading.Thread(target=run_housekeeping, args=(engine, settings, stop), daemon=True)
        housekeeping.start()
        worker.run_forever(stop)
        housekeeping.join(timeout=30)
        log.info("delivery worker stopped")
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
