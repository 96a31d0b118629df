"""Production faults survived: two Rasa servers and two action servers behind nginx, on a real
PostgreSQL and a real Redis (both the tests' own, so they can be restarted and stopped), with the
delivery worker and a real SMTP server.

Each test is one fault in the middle of a real referral: a Rasa server killed, an action server
killed during submission, PostgreSQL restarted, the database refusing connections, Redis down, and
one parent's two messages reaching two servers at once.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import psutil
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from deploy.cluster import Cluster, answers, free_port, wait_until
from bot import service_profile
from tests import pg
from tests.environment import process_env
from tests.redis_server import RedisServer
from tests.support import MODEL, QuestionWatch
from tests.test_end_to_end import ANSWERS, Inbox, emails_for

pytestmark = [
    pytest.mark.prod,
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
    pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                       reason="needs Debian's nginx: make test-prod installs it"),
]

SECRET = "prod-test-bridge-secret-0123456789"
# The form's first questions (self-referral) and the answer that moves it on.
STEPS: List[Tuple[str, str]] = [
    ("I'd like to make a referral", "Are you referring yourself, or a family you work with?"),
    ("Myself or my family", "What's your name?"),
    ("Zofia Exampleńska", "What is your relationship to the baby?"),
    ("Foster carer", "How old is the baby?"),
    ("11 weeks", "what would you like help with?"),
    ("help with settling at night", "best phone number"),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory, postgres: pg.PostgresServer) -> Iterator[Dict]:
    workdir = tmp_path_factory.mktemp("prod")
    database_url = pg.create_database(postgres.url, "cosp_prod_test")
    redis = RedisServer(workdir)
    redis.start()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    cluster = Cluster(workdir, database_url, redis.url, replicas=2, base_env=process_env(), BRIDGE_SECRET=SECRET,
                      SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), REFERRAL_EMAIL_TO="staff@example.org",
                      DELIVERY_POLL_SECONDS="0.5", DELIVERY_MAX_BACKOFF_SECONDS="5")
    try:
        cluster.start()
        yield {"cluster": cluster, "redis": redis, "inbox": inbox, "postgres": postgres,
               "db": create_engine(database_url, future=True, pool_pre_ping=True)}
    finally:
        cluster.stop()
        smtp.stop()
        redis.stop()


def post(base: str, sender: str, message: str, timeout: float = 60) -> Tuple[int, List[dict]]:
    request = urllib.request.Request(
        f"{base}/webhooks/telegram_bridge/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, []


WATCH = QuestionWatch()  # every conversation here: no referral question three turns running


def say(base: str, sender: str, message: str) -> str:
    status, replies = post(base, sender, message)
    assert status == 200, f"{message!r} got HTTP {status}"
    WATCH.saw(sender, [r.get("text", "") for r in replies])
    return " ".join(r.get("text", "") for r in replies)


def go_to_step(base: str, sender: str, steps: int) -> None:
    """Answers the first `steps` questions; each reply must ask the next one."""
    for message, question in STEPS[:steps]:
        assert question in say(base, sender, message)


def finish_referral(base: str, sender: str, from_answer: int) -> str:
    """Answers ANSWERS[from_answer:] (test_end_to_end's referral) and sends it; returns the reference."""
    for answer, _ in ANSWERS[from_answer:]:
        say(base, sender, answer)
    reply = say(base, sender, "Send referral")
    assert "your referral has been sent" in reply
    return reply.split("Your reference is ")[1][:10]


def user_messages(env: Dict, sender: str) -> List[str]:
    with env["db"].connect() as conn:
        rows = conn.execute(text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
                            {"s": sender}).all()
    return [json.loads(row[0]).get("text") for row in rows]


def referrals_of(env: Dict, sender: str) -> List[str]:
    with env["db"].connect() as conn:
        rows = conn.execute(text("SELECT reference FROM referrals WHERE conversation_id = :s"), {"s": sender}).all()
    return [row[0] for row in rows]


def one_email(env: Dict, reference: str) -> None:
    """The worker has recorded the email as sent (so will not send it again), and it arrived once."""
    wait_until(lambda: email_job_status(env, reference) == "sent", f"email for {reference} recorded as sent", 60)
    assert len(emails_for(env["inbox"], reference)) == 1


def email_job_status(env: Dict, reference: str) -> Optional[str]:
    with env["db"].connect() as conn:
        return conn.execute(text(
            "SELECT d.status FROM deliveries d JOIN referrals r ON r.id = d.referral_id "
            "WHERE r.reference = :r AND d.channel = 'email'"), {"r": reference}).scalar_one_or_none()


def tickets_waiting(env: Dict, sender: str) -> int:
    """How many turns of this conversation hold a ticket in Rasa's Redis lock (bot/lock_store.py)."""
    import redis

    client = redis.Redis.from_url(env["redis"].url, socket_timeout=3)
    try:
        lock = client.get(f"cosp:lock:{sender}")
    finally:
        client.close()
    return len(json.loads(lock)["tickets"]) if lock else 0


def waiting_on_lock(env: Dict, table: str) -> List[int]:
    """Client ports of connections waiting for a lock on `table` (they are blocked mid-query)."""
    with env["db"].connect() as conn:
        rows = conn.execute(text(
            "SELECT a.client_port FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' "
            "AND a.datname = current_database() AND a.query ILIKE :q"), {"q": f"%{table}%"}).all()
    return [row[0] for row in rows]


def process_with_connection(client_port: int) -> int:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == client_port and conn.pid:
            return conn.pid
    raise LookupError(client_port)


def test_every_replica_reports_healthy_and_checks_the_real_stores(env):
    cluster: Cluster = env["cluster"]
    for replica in range(2):
        with urllib.request.urlopen(f"{cluster.rasa_url(replica)}/webhooks/health/") as reply:
            body = json.load(reply)
        assert body["checks"] == {"model": "ok", "conversation_store": "ok", "lock_store": "ok"}


def test_a_rasa_server_killed_mid_referral_the_parent_goes_on_from_the_same_step(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7001"
    go_to_step(cluster.rasa_url(0), sender, 4)  # all on rasa-1: name, relationship, age asked and answered
    cluster.kill("rasa-1")
    try:
        assert STEPS[4][1] in say(cluster.url, sender, STEPS[4][0])  # via nginx: rasa-2
        reference = finish_referral(cluster.url, sender, 4)
    finally:
        cluster.restart("rasa-1")
    assert referrals_of(env, sender) == [reference]
    one_email(env, reference)


def test_an_action_server_killed_during_submission_the_referral_is_stored_and_sent_once(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7002"
    go_to_step(cluster.url, sender, 5)
    for answer, _ in ANSWERS[4:]:
        say(cluster.url, sender, answer)
    holder = env["db"].connect()
    blocker = holder.begin()
    holder.execute(text("LOCK TABLE referrals IN ACCESS EXCLUSIVE MODE"))  # the submission will wait here
    result: Dict = {}
    sending = threading.Thread(target=lambda: result.update(reply=post(cluster.url, sender, "Send referral", 120)))
    sending.start()
    try:
        wait_until(lambda: waiting_on_lock(env, "referrals"), "the submission waiting on the referrals table", 30)
        victim = process_with_connection(waiting_on_lock(env, "referrals")[0])
        name = next(n for n, p in cluster.procs.items() if p.pid == victim)
        assert name.startswith("actions-")
        cluster.kill(name)  # mid-transaction: PostgreSQL rolls its part back
    finally:
        blocker.rollback()
        holder.close()
    sending.join(120)
    try:
        status, replies = result["reply"]
        assert status == 200
        reply = " ".join(r.get("text", "") for r in replies)
        assert "your referral has been sent" in reply  # nginx retried the call on the other action server
        reference = reply.split("Your reference is ")[1][:10]
        assert referrals_of(env, sender) == [reference]
        one_email(env, reference)
        # Sending again is not a second referral.
        say(cluster.url, sender, "Send referral")
        assert referrals_of(env, sender) == [reference]
    finally:
        cluster.restart(name)


def test_postgresql_restarted_mid_conversation_the_conversation_continues(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7003"
    go_to_step(cluster.url, sender, 3)
    env["postgres"].restart()  # fast shutdown: every connection of every server is cut
    deadline = time.time() + 60
    status, replies = post(cluster.url, sender, STEPS[3][0])
    while status != 200 and time.time() < deadline:  # refused while it comes back: never half-kept
        assert status == 503
        time.sleep(1)
        status, replies = post(cluster.url, sender, STEPS[3][0])
    assert status == 200
    assert STEPS[3][1] in " ".join(r.get("text", "") for r in replies)
    assert user_messages(env, sender)[-1] == STEPS[3][0]
    reference = finish_referral(cluster.url, sender, 3)
    assert referrals_of(env, sender) == [reference]


def test_when_the_database_refuses_connections_turns_are_refused_and_health_says_so(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7004"
    go_to_step(cluster.url, sender, 3)
    database = env["db"].url.database
    admin = create_engine(env["db"].url.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": database})
    try:
        for replica in range(2):
            status, replies = post(cluster.rasa_url(replica), sender, STEPS[3][0])
            assert (status, replies) == (503, [])  # not a greeting from an empty in-memory tracker
            assert not answers(f"{cluster.rasa_url(replica)}/webhooks/health/")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    wait_until(lambda: answers(f"{cluster.rasa_url(0)}/webhooks/health/"), "health back", 30)
    assert STEPS[3][1] in say(cluster.url, sender, STEPS[3][0])  # the same step, nothing lost
    assert user_messages(env, sender).count(STEPS[3][0]) == 1


def test_redis_down_turns_are_refused_cleanly_then_the_conversation_continues(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7005"
    go_to_step(cluster.url, sender, 3)
    before = user_messages(env, sender)
    env["redis"].stop()
    try:
        status, replies = post(cluster.url, sender, STEPS[3][0])
        assert (status, replies) == (503, [])
        assert user_messages(env, sender) == before  # nothing processed
        assert not answers(f"{cluster.rasa_url(0)}/webhooks/health/")
    finally:
        env["redis"].start()
    assert STEPS[3][1] in say(cluster.url, sender, STEPS[3][0])
    assert user_messages(env, sender) == before + [STEPS[3][0]]


def test_one_parents_two_messages_at_two_replicas_at_once_are_processed_in_order_once(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7006"
    go_to_step(cluster.url, sender, 2)  # "What's your name?" is asked
    first, second = STEPS[2][0], STEPS[3][0]  # the name, then the relationship
    results: Dict[str, Tuple[int, List[dict]]] = {}
    holder = env["db"].connect()
    blocker = holder.begin()
    holder.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))  # holds the first turn mid-way
    one = threading.Thread(target=lambda: results.update(first=post(cluster.rasa_url(0), sender, first)))
    one.start()
    try:
        wait_until(lambda: waiting_on_lock(env, "events"), "rasa-1 holding the conversation", 30)
        two = threading.Thread(target=lambda: results.update(second=post(cluster.rasa_url(1), sender, second)))
        two.start()
        wait_until(lambda: tickets_waiting(env, sender) == 2, "rasa-2 queued behind rasa-1 in the lock", 30)
    finally:
        blocker.rollback()
        holder.close()
    one.join(60)
    two.join(60)
    assert results["first"][0] == results["second"][0] == 200
    assert STEPS[2][1] in " ".join(r.get("text", "") for r in results["first"][1])
    assert STEPS[3][1] in " ".join(r.get("text", "") for r in results["second"][1])
    assert user_messages(env, sender) == [m for m, _ in STEPS[:4]]


def test_every_action_server_down_the_parent_is_asked_to_send_again_and_nothing_is_lost(env):
    cluster: Cluster = env["cluster"]
    sender = "telegram:7007"
    go_to_step(cluster.url, sender, 3)
    cluster.kill("actions-1")
    cluster.kill("actions-2")
    try:
        reply = say(cluster.url, sender, STEPS[3][0])
        assert "please send it again" in reply.lower() and service_profile.current().phone in reply  # never silence, never a dead end
    finally:
        cluster.restart("actions-1")
        cluster.restart("actions-2")
    # nginx tries a failed server again after its fail_timeout (5 s)
    wait_until(lambda: answers(f"http://127.0.0.1:{cluster.action_port}/health"), "actions behind nginx", 30)
    assert STEPS[3][1] in say(cluster.url, sender, STEPS[3][0])
    reference = finish_referral(cluster.url, sender, 3)
    assert referrals_of(env, sender) == [reference]


def test_delete_my_data_and_the_retention_purge_work_on_postgresql(env):
    from datetime import datetime, timedelta, timezone

    from actions.delivery.store import make_engine
    from actions.privacy import conversations
    from actions.privacy.retention import purge
    from bot.lock_store import RedisURLLockStore

    cluster: Cluster = env["cluster"]
    leaving, idle = "telegram:7008", "telegram:7009"
    say(cluster.url, idle, "What is Circle of Security Parenting?")
    assert "Are you sure?" in say(cluster.url, leaving, "please delete my data")
    assert "will be deleted" in say(cluster.url, leaving, "yes, delete it")
    database_url = cluster.env["DATABASE_URL"]
    store, tracker = make_engine(database_url), conversations.tracker_store(database_url)
    locks = RedisURLLockStore(url=cluster.env["REDIS_URL"])  # the Rasa servers' (endpoints.prod.yml)
    try:
        soon = datetime.now(timezone.utc) + timedelta(minutes=5)
        assert purge(store, tracker, 30, soon, locks=locks).erased_on_request == 1
        assert conversations.last_activity(tracker, leaving) is None
        assert conversations.last_activity(tracker, idle) is not None
        later = datetime.now(timezone.utc) + timedelta(days=31)
        assert purge(store, tracker, 30, later, locks=locks).conversations >= 1
        assert conversations.last_activity(tracker, idle) is None
    finally:
        store.dispose()
        tracker.dispose()


def test_the_web_chat_over_long_polling_stays_with_one_server_behind_nginx(env):
    """Long polling (where a proxy blocks WebSocket) sends each request separately: without sticky
    sessions, half of them would reach a server that never heard of the socket.io session."""
    import asyncio
    import uuid

    import socketio

    cluster: Cluster = env["cluster"]

    async def chat() -> List[str]:
        heard: List[str] = []
        confirmed = asyncio.Event()
        client = socketio.AsyncClient(reconnection=False)
        client.on("session_confirm", lambda *_: confirmed.set())
        client.on("bot_uttered", lambda message: heard.append(message.get("text", "")))
        await client.connect(cluster.url, transports=["polling"], socketio_path="/socket.io",
                             headers={"Origin": "http://localhost:8000"})
        try:
            await client.emit("session_request", {"session_id": uuid.uuid4().hex})
            await asyncio.wait_for(confirmed.wait(), 20)
            for question in ["What is Circle of Security Parenting?", "Who is it for?", "How long is the course?"]:
                before = len(heard)
                await client.emit("user_uttered", {"message": question})
                for _ in range(200):
                    if len(heard) > before:
                        break
                    await asyncio.sleep(0.1)
                assert len(heard) > before, f"no reply to {question!r}"
        finally:
            await client.disconnect()
        return heard

    heard = asyncio.run(chat())
    assert any("Circle of Security" in text for text in heard)
