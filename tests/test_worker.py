"""The delivery worker against a real SMTP server (aiosmtpd) and a real SQLite store."""
from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email import message_from_binary_file, message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy.engine import Engine

from actions.delivery.email import build_referral_email, inert
from actions.delivery.maildrop import MailDropSender
from actions.delivery.store import claim_due_jobs, get_referral, list_deliveries, make_engine, mark_sent, save_referral
from actions.delivery.worker import DeliveryWorker, retry_delay
from actions.referral.record import ReferralRecord
from bot import heartbeat
from bot.settings import Settings, load_settings
from tests.pg import fresh_database

ANSWERS: List[Tuple[str, str]] = [
    ("Your name", "Amira Khan"),
    ("Phone number", "07700 900123"),
    ("Email address", "amira.khan@example.com"),
    ("Child's name", "Yusuf Khan"),
    ("What would you like help with?", "Bedtimes are hard 😴 مرحبا"),
]
TEAM = "cosp.team@example.nhs.uk"


def make_record(reference: str = "COSP-ABCDE", submission_key: Optional[str] = None) -> ReferralRecord:
    return ReferralRecord(
        reference=reference,
        submission_key=submission_key or f"submission-{reference}",
        referral_type="self",
        answers=list(ANSWERS),
        data={"name": "Amira Khan"},
        consent_version="v1",
        consent_text="I agree that the COSP team may contact me.",
        consent_given_at=datetime(2026, 11, 26, 14, 3, tzinfo=timezone.utc),
    )


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: List[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> List[EmailMessage]:
        return [message_from_bytes(e.original_content or e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp(port: int) -> Tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


def smtp_settings(tmp_path: Path, port: int) -> Settings:
    return load_settings(
        {
            "COSP_VAR_DIR": str(tmp_path / "var"),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_TIMEOUT_SECONDS": "5",
            "REFERRAL_EMAIL_TO": TEAM,
            "REFERRAL_EMAIL_FROM": "cosp-assistant@example.nhs.uk",
        }
    )


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp(port: int) -> Iterator[Inbox]:
    controller, inbox = start_smtp(port)
    yield inbox
    controller.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'referrals.db'}")
    yield engine
    engine.dispose()


def body_text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_referral_is_emailed_once_with_every_answer(tmp_path: Path, port: int, smtp: Inbox, engine: Engine) -> None:
    save_referral(engine, make_record())
    worker = DeliveryWorker(engine, smtp_settings(tmp_path, port))

    assert worker.run_once() == 1
    assert worker.run_once() == 0

    assert len(smtp.envelopes) == 1
    assert smtp.envelopes[0].rcpt_tos == [TEAM]
    (message,) = smtp.messages()
    assert message["Subject"] == "New COSP referral COSP-ABCDE"
    for _, answer in ANSWERS:
        assert inert(answer) in body_text(message)
    (job,) = list_deliveries(engine, "COSP-ABCDE")
    assert (job["status"], job["attempts"], job["last_error"]) == ("sent", 1, None)
    assert job["sent_at"] is not None


def test_smtp_down_then_up_delivers_exactly_once(tmp_path: Path, port: int, engine: Engine) -> None:
    save_referral(engine, make_record())
    settings = smtp_settings(tmp_path, port)  # nothing listens on this port yet
    worker = DeliveryWorker(engine, settings)
    t0 = datetime.now(timezone.utc) + timedelta(seconds=1)

    assert worker.run_once(now=t0) == 0

    (job,) = list_deliveries(engine)
    assert job["status"] == "pending" and job["attempts"] == 1
    assert job["next_attempt_at"] == t0 + timedelta(seconds=retry_delay(1, settings.delivery_max_backoff_seconds))
    assert job["next_attempt_at"] > t0
    assert job["last_error"] == "ConnectionRefusedError"
    assert job["locked_until"] is None

    controller, inbox = start_smtp(port)
    try:
        assert worker.run_once(now=t0 + timedelta(seconds=1)) == 0  # not due yet: backing off
        assert inbox.envelopes == []

        later = job["next_attempt_at"] + timedelta(seconds=1)
        assert worker.run_once(now=later) == 1
        assert worker.run_once(now=later + timedelta(hours=1)) == 0
    finally:
        controller.stop()

    assert len(inbox.envelopes) == 1
    (job,) = list_deliveries(engine)
    assert (job["status"], job["attempts"]) == ("sent", 2)


def test_smtp_login_when_a_username_is_configured(tmp_path: Path, port: int, engine: Engine) -> None:
    logins: List[Tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-pass")

    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        save_referral(engine, make_record())
        settings = load_settings(
            {
                "COSP_VAR_DIR": str(tmp_path / "var"),
                "SMTP_HOST": "127.0.0.1",
                "REFERRAL_EMAIL_TO": "staff@example.org",
                "SMTP_PORT": str(port),
                "SMTP_USERNAME": "cosp",
                "SMTP_PASSWORD": "s3cret-pass",
            }
        )
        assert DeliveryWorker(engine, settings).run_once() == 1
    finally:
        controller.stop()

    assert logins == [(b"cosp", b"s3cret-pass")]
    assert len(inbox.envelopes) == 1


class RefusingInbox(Inbox):
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return f"550 5.1.1 <{address}> mailbox unavailable"


def test_a_refused_recipient_is_retried_and_recorded_by_status_code_only(
    tmp_path: Path, port: int, engine: Engine
) -> None:
    controller = Controller(RefusingInbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        save_referral(engine, make_record())
        assert DeliveryWorker(engine, smtp_settings(tmp_path, port)).run_once() == 0
    finally:
        controller.stop()

    (job,) = list_deliveries(engine)
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert job["last_error"] == "SMTPRecipientsRefused 550"  # not the server's text, which echoes the address


def test_failures_back_off_exponentially_up_to_the_maximum() -> None:
    assert [retry_delay(n, 300) for n in range(1, 9)] == [4, 8, 16, 32, 64, 128, 256, 300]
    assert retry_delay(10_000, 300) == 300


def test_mail_drop_writes_one_readable_eml_per_referral(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var"), "REFERRAL_EMAIL_TO": TEAM})
    assert not settings.smtp_configured
    save_referral(engine, make_record("COSP-AAAAA"))
    save_referral(engine, make_record("COSP-BBBBB"))
    worker = DeliveryWorker(engine, settings)

    assert worker.run_once() == 2
    assert worker.run_once() == 0

    files = sorted(settings.mail_drop_dir.iterdir())
    assert [f.name for f in files] == ["COSP-AAAAA.eml", "COSP-BBBBB.eml"]  # no temporary files left
    for path in files:
        with path.open("rb") as handle:
            message = message_from_binary_file(handle, policy=policy.default)
        assert message["Subject"] == f"New COSP referral {path.stem}"
        assert message["To"] == TEAM
        for _, answer in ANSWERS:
            assert inert(answer) in body_text(message)


def test_mail_drop_does_not_rewrite_an_existing_file(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var")})
    save_referral(engine, make_record())
    sender = MailDropSender(settings)
    message = build_referral_email(get_referral(engine, "COSP-ABCDE"), settings)

    sender.send(message, "COSP-ABCDE")
    first = sender.path_for("COSP-ABCDE").read_bytes()
    del message["Date"]
    message["Date"] = "Mon, 01 Jan 2024 00:00:00 +0000"
    sender.send(message, "COSP-ABCDE")

    assert sender.path_for("COSP-ABCDE").read_bytes() == first
    assert len(list(settings.mail_drop_dir.iterdir())) == 1


def test_jobs_go_to_the_sender_registered_for_their_channel(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var")})
    save_referral(engine, make_record(), channels=("email", "telegram", "pigeon"))
    told: List[str] = []

    def telegram(referral: Mapping[str, Any]) -> None:
        told.append(referral["reference"])

    worker = DeliveryWorker(engine, settings, channels={"email": MailDropChannel(settings), "telegram": telegram})

    assert worker.run_once() == 2
    assert told == ["COSP-ABCDE"]
    jobs: Dict[str, Dict[str, Any]] = {job["channel"]: job for job in list_deliveries(engine)}
    assert jobs["email"]["status"] == jobs["telegram"]["status"] == "sent"
    assert (jobs["pigeon"]["status"], jobs["pigeon"]["last_error"]) == ("pending", "UnknownChannel")


class MailDropChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, referral: Mapping[str, Any]) -> None:
        MailDropSender(self.settings).send(build_referral_email(referral, self.settings), referral["reference"])


def test_no_personal_data_is_logged(tmp_path: Path, port: int, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    save_referral(engine, make_record())
    worker = DeliveryWorker(engine, smtp_settings(tmp_path, port))
    t0 = datetime.now(timezone.utc) + timedelta(seconds=1)

    worker.run_once(now=t0)  # SMTP down: a failure is logged
    controller, inbox = start_smtp(port)
    try:
        worker.run_once(now=t0 + timedelta(minutes=10))  # delivered: a success is logged
    finally:
        controller.stop()

    assert len(inbox.envelopes) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records if record.levelno >= logging.INFO)
    assert "COSP-ABCDE" in logged and "ConnectionRefusedError" in logged
    for _, answer in ANSWERS:
        assert answer not in logged
    for fragment in ("Amira", "Khan", "07700", "amira.khan", "Bedtimes", "مرحبا"):
        assert fragment not in logged


def test_run_forever_stops_when_asked(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var"), "DELIVERY_POLL_SECONDS": "0.05"})
    worker = DeliveryWorker(engine, settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()

    save_referral(engine, make_record())
    deadline = datetime.now(timezone.utc) + timedelta(seconds=10)
    while list_deliveries(engine)[0]["status"] != "sent" and datetime.now(timezone.utc) < deadline:
        stop.wait(0.05)
    stop.set()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert list_deliveries(engine)[0]["status"] == "sent"
    assert (settings.mail_drop_dir / "COSP-ABCDE.eml").exists()
    assert heartbeat.age(settings.var_dir, "worker") < 10  # rounds that reached the store are its pulse


def test_rounds_that_fail_leave_the_heartbeat_to_go_stale(tmp_path: Path, engine: Engine) -> None:
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var"), "DELIVERY_POLL_SECONDS": "0.05"})
    worker = DeliveryWorker(engine, settings)
    worker.run_once = lambda now=None: (_ for _ in ()).throw(ConnectionError("database gone"))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    stop.wait(0.3)
    stop.set()
    thread.join(timeout=10)
    assert heartbeat.age(settings.var_dir, "worker") is None


class TakenOverMidSend:
    """A channel so slow that the worker's lease runs out and another worker claims the job meanwhile."""

    def __init__(self, engine: Engine, claim_at: datetime, fail: bool) -> None:
        self.engine, self.claim_at, self.fail = engine, claim_at, fail
        self.other_claims: List[Dict[str, Any]] = []

    def __call__(self, referral: Mapping[str, Any]) -> None:
        self.other_claims.extend(claim_due_jobs(self.engine, self.claim_at, lease_seconds=60, limit=10))
        if self.fail:
            raise ConnectionRefusedError()


@pytest.mark.parametrize("fail", [False, True])
def test_a_worker_whose_job_was_taken_over_leaves_its_outcome_to_the_new_claim(
    tmp_path: Path, engine: Engine, fail: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    save_referral(engine, make_record())
    t0 = datetime.now(timezone.utc) + timedelta(seconds=1)
    slow = TakenOverMidSend(engine, claim_at=t0 + timedelta(seconds=61), fail=fail)
    worker = DeliveryWorker(engine, load_settings({"COSP_VAR_DIR": str(tmp_path / "var")}), {"email": slow}, lease_seconds=60)

    worker.run_once(now=t0)

    (other,) = slow.other_claims
    (job,) = list_deliveries(engine)
    assert (job["status"], job["attempts"], job["last_error"]) == ("pending", 2, None)  # as the other claim left it
    assert (job["claim_token"], job["locked_until"]) == (other["claim_token"], t0 + timedelta(seconds=121))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert ("another worker has claimed it since" if fail else "delivered but no longer ours to record") in logged
    assert mark_sent(engine, other["id"], t0 + timedelta(seconds=62), claim_token=other["claim_token"])


def test_workers_on_postgresql_deliver_each_referral_exactly_once(tmp_path: Path, postgres_url: str) -> None:
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path / "var")})
    delivered: List[str] = []
    with fresh_database(postgres_url) as url:
        engines = [make_engine(url) for _ in range(3)]
        for n in range(30):
            save_referral(engines[0], make_record(f"COSP-{n:05d}"))

        def deliver(referral: Mapping[str, Any]) -> None:
            time.sleep(0.01)  # sends overlap, so the workers' claims do too
            delivered.append(referral["reference"])

        workers = [DeliveryWorker(engine, settings, {"email": deliver}, batch_size=4) for engine in engines]
        counts: List[int] = []
        start = threading.Barrier(len(workers))

        def run(worker: DeliveryWorker) -> None:
            start.wait()
            counts.append(worker.run_once())

        threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        jobs = list_deliveries(engines[0])
        for engine in engines:
            engine.dispose()

    assert sorted(delivered) == [f"COSP-{n:05d}" for n in range(30)]
    assert sum(counts) == 30 and len(counts) == 3
    assert {(job["status"], job["attempts"]) for job in jobs} == {("sent", 1)}
