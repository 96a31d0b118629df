"""`make soak`: the production shape (2 Rasa servers, 2 action servers, nginx, a worker, its own
PostgreSQL and Redis, a real SMTP server) under 20 simulated parents for SOAK_SECONDS (1,200), while
it kills a Rasa server, then an action server, then the worker, restarts PostgreSQL and stops Redis
for 30 s. Then it checks the promise: every referral a parent was told was sent is stored once and
emailed once, and nothing stored is lost. Prints the figures and writes bench/soak.json.

A parent who gets an error, or the "please send it again" reply, sends the same message again
after a pause, as people do. Not in CI (it takes 20 minutes)."""
from __future__ import annotations

import email
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from deploy.cluster import Cluster, free_port, wait_until
from tests import pg
from tests.environment import process_env
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "soak.json"
SECRET = "soak-bridge-secret-0123456789abcdef"
PARENTS = 20
QUESTIONS = ["What is Circle of Security Parenting?", "how many sessions are there", "where is it held",
             "is it for dads too", "will people judge me", "what happens in a session"]
REFERRAL = ["I'd like to make a referral", "Myself or my family", "Sam Soak", "I'm his mum", "5 months",
            "feeling closer to him", "07911 123456", "skip", "phone", "yes", "DN31 1HU", "no thanks",
            "no", "Yes, I agree", "Send referral"]
TRY_AGAIN = ("please send it again", "please try again")
RETRIES = 20


class Inbox:
    def __init__(self) -> None:
        self.subjects: Counter = Counter()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.subjects[email.message_from_bytes(envelope.content)["Subject"]] += 1
        return "250 OK"


@dataclass
class Tally:
    turns: int = 0
    errors_seen: int = 0  # a failed request, or the "please send it again" reply
    http_errors: Counter = field(default_factory=Counter)
    gave_up: int = 0  # a message still failing after RETRIES tries
    confirmed: List[str] = field(default_factory=list)  # references parents were shown
    referrals_started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def post(base: str, sender: str, message: str) -> Tuple[int, str]:
    request = urllib.request.Request(
        f"{base}/webhooks/telegram_bridge/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, " ".join(r.get("text", "") for r in json.load(reply))
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError, ValueError):
        return 0, ""


def say(base: str, sender: str, message: str, tally: Tally) -> Optional[str]:
    """The reply, after as many tries as a patient parent makes; None if it never came."""
    for _ in range(RETRIES):
        status, reply = post(base, sender, message)
        with tally.lock:
            tally.turns += 1
            if status == 200 and not any(p in reply.lower() for p in TRY_AGAIN):
                return reply
            tally.errors_seen += 1
            tally.http_errors[str(status)] += 1
        time.sleep(2)
    with tally.lock:
        tally.gave_up += 1
    return None


def parent(base: str, number: int, until: float, tally: Tally) -> None:
    rng = random.Random(number)
    conversation = 0
    while time.time() < until:
        conversation += 1
        sender = f"telegram:{900000 + number * 1000 + conversation}"
        if rng.random() < 0.4:
            with tally.lock:
                tally.referrals_started += 1
            reply = None
            for message in REFERRAL:
                reply = say(base, sender, message, tally)
                if reply is None:
                    break
            if reply and "Your reference is " in reply:
                with tally.lock:
                    tally.confirmed.append(reply.split("Your reference is ")[1][:10])
        else:
            for message in rng.sample(QUESTIONS, 3):
                if say(base, sender, message, tally) is None:
                    break


def faults(cluster: Cluster, postgres: pg.PostgresServer, redis: RedisServer, start: float,
           seconds: float) -> List[Tuple[float, str]]:
    """Each fault at its share of the run; returns (seconds into the run, what) as done."""
    done: List[Tuple[float, str]] = []

    def at(share: float, what: str, action: Callable[[], None]) -> None:
        time.sleep(max(0.0, start + share * seconds - time.time()))
        action()
        done.append((round(time.time() - start, 1), what))

    def bounce(name: str, down: float) -> Callable[[], None]:
        def run() -> None:
            cluster.kill(name)
            time.sleep(down)
            cluster.restart(name)
        return run

    def redis_pause() -> None:
        redis.stop()
        time.sleep(30)
        redis.start()

    at(0.15, "killed rasa-1 (SIGKILL), restarted after 20 s", bounce("rasa-1", 20))
    at(0.30, "killed actions-1 (SIGKILL), restarted after 20 s", bounce("actions-1", 20))
    at(0.45, "killed the worker (SIGKILL), restarted after 30 s", bounce("worker", 30))
    at(0.60, "restarted PostgreSQL", postgres.restart)
    at(0.75, "stopped Redis for 30 s", redis_pause)
    return done


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "1200"))
    workdir = Path(tempfile.mkdtemp(prefix="cosp-soak-"))
    postgres = pg.PostgresServer(durable=True)
    postgres.initdb().start()
    database_url = pg.create_database(postgres.url, "cosp_soak")
    redis = RedisServer(workdir)
    redis.start()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    cluster = Cluster(workdir, database_url, redis.url, replicas=2, base_env=process_env(), BRIDGE_SECRET=SECRET,
                      SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), REFERRAL_EMAIL_TO="staff@example.org",
                      DELIVERY_POLL_SECONDS="1", DELIVERY_MAX_BACKOFF_SECONDS="10")
    tally = Tally()
    try:
        print(f"[soak] starting the cluster in {workdir}", flush=True)
        cluster.start()
        start = time.time()
        until = start + seconds
        threads = [threading.Thread(target=parent, args=(cluster.url, n, until, tally), daemon=True) for n in range(PARENTS)]
        for thread in threads:
            thread.start()
        print(f"[soak] {PARENTS} parents for {seconds:.0f} s, with faults", flush=True)
        done = faults(cluster, postgres, redis, start, seconds)
        for what in done:
            print(f"[soak] {what[0]:7.1f} s: {what[1]}", flush=True)
        for thread in threads:
            thread.join(timeout=max(1.0, until - time.time()) + 600)
        engine = create_engine(database_url, future=True, pool_pre_ping=True)

        def pending() -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM deliveries WHERE status = 'pending'")).scalar_one()

        wait_until(lambda: pending() == 0, "every delivery sent", 300)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT reference FROM referrals")).scalars().all()
        engine.dispose()
        emailed = {subject.rsplit(" ", 1)[1]: n for subject, n in inbox.subjects.items()
                   if subject and subject.startswith("New COSP referral ")}
        confirmed = Counter(tally.confirmed)
        result = {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": seconds, "parents": PARENTS, "faults": done,
            "turns": tally.turns, "errors_seen_by_parents": tally.errors_seen,
            "errors_by_status": dict(tally.http_errors), "messages_given_up": tally.gave_up,
            "referrals_started": tally.referrals_started,
            "referrals_completed": len(confirmed), "referrals_stored": len(stored),
            "referrals_emailed": len(emailed),
            "completed_not_stored": sorted(set(confirmed) - set(stored)),
            "stored_not_emailed": sorted(set(stored) - set(emailed)),
            "emailed_more_than_once": sorted(r for r, n in emailed.items() if n > 1),
            "stored_twice_or_confirmed_twice": sorted(r for r, n in confirmed.items() if n > 1)
                                              + sorted(r for r, n in Counter(stored).items() if n > 1),
            "stored_not_confirmed": sorted(set(stored) - set(confirmed)),
        }
        kept = not (result["completed_not_stored"] or result["stored_not_emailed"] or result["emailed_more_than_once"]
                    or result["stored_twice_or_confirmed_twice"])
        result["every_promise_kept"] = kept
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2), flush=True)
        print(f"[soak] {'PASSED' if kept else 'FAILED'}: bench/soak.json", flush=True)
        return 0 if kept else 1
    finally:
        cluster.stop()
        smtp.stop()
        redis.stop()
        postgres.remove()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
