"""Nothing goes wrong unseen (issue 16): the counts Prometheus reads, and the stuck-delivery alarm.

Unit checks of the event counting and the alarm, then the real Rasa server, action server and
delivery worker with a real SMTP server that refuses mail: a submitted referral shows in
cosp_deliveries_pending and cosp_delivery_oldest_pending_seconds, the alarm is raised once after
DELIVERY_ALERT_MINUTES (ERROR log, failing health check), and when SMTP accepts again the gauges
fall to 0 and the alarm clears."""
from __future__ import annotations

import logging
import subprocess
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text as sql

from actions.delivery.alarm import StuckDeliveryAlarm, alarm_text
from actions.delivery.store import make_engine, save_referral, utcnow
from bot import heartbeat, metrics
from bot.settings import load_settings
from deploy.cluster import wait_until
from tests.environment import process_env
from tests.support import BIN, MODEL, ROOT, Stack, free_port
from tests.test_worker import make_record


def samples(text: str) -> Dict[str, float]:
    """'name{label="v"}' -> value, for every sample of a Prometheus text page."""
    found: Dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


# --- counting a conversation's events -------------------------------------------------------------

def user(sender: str, intent: str, kind: str = "") -> dict:
    entities = [{"entity": "risk_kind", "value": kind}] if kind else []
    return {"sender_id": sender, "event": "user", "text": "never counted",
            "parse_data": {"intent": {"name": intent}, "entities": entities}}


def action(sender: str, name: str) -> dict:
    return {"sender_id": sender, "event": "action", "name": name}


def slot(sender: str, name: str, value) -> dict:
    return {"sender_id": sender, "event": "slot", "name": name, "value": value}


def loop(sender: str, name) -> dict:
    return {"sender_id": sender, "event": "active_loop", "name": name}


def counted(events: List[dict]) -> Dict[str, float]:
    before = samples(metrics.generate_latest(metrics.REGISTRY).decode())
    counts = metrics.ConversationCounts()
    for event in events:
        counts.observe(event)
    after = samples(metrics.generate_latest(metrics.REGISTRY).decode())
    return {name: value - before.get(name, 0.0) for name, value in after.items()
            if "_total" in name and value != before.get(name, 0.0)}


def test_turns_fallbacks_and_safety_replies_by_kind_are_counted():
    assert counted([
        user("a", "greet"), action("a", "utter_greet"), action("a", "action_listen"),
        user("a", "nlu_fallback"), action("a", "utter_default"), action("a", "action_listen"),
        user("a", "safety_risk", "domestic_abuse"), action("a", "utter_safety"), action("a", "action_listen"),
        user("b", "safety_risk"), action("b", "utter_safety"),
    ]) == {"cosp_turns_total": 4, "cosp_fallbacks_total": 1,
           'cosp_safety_replies_total{kind="domestic_abuse"}': 1, 'cosp_safety_replies_total{kind="general"}': 1}


def form_until(sender: str, *questions: str) -> List[dict]:
    events = [user(sender, "start_referral"), action(sender, "referral_form"), loop(sender, "referral_form")]
    for question in questions:
        events += [slot(sender, "requested_slot", question), action(sender, "action_listen"), user(sender, "inform"),
                   action(sender, "referral_form")]
    return events


def test_a_form_sent_is_a_referral_and_a_form_left_is_counted_at_its_question():
    sent = form_until("s", "caregiver_name", "review") + [
        slot("s", "requested_slot", None), loop("s", None), action("s", "action_submit_referral"),
        slot("s", "reference", "COSP-ABCDE"), action("s", "action_listen")]
    stopped = form_until("t", "caregiver_name", "child_age") + [
        loop("t", None), slot("t", "requested_slot", None), action("t", "utter_referral_cancelled"),
        action("t", "action_listen")]
    too_old = form_until("u", "child_age") + [  # the form ends itself; the submission finds nothing to send
        slot("u", "requested_slot", None), loop("u", None), action("u", "action_submit_referral"),
        slot("u", "reference", None), action("u", "action_listen")]
    assert counted(sent + stopped + too_old) == {
        "cosp_turns_total": 8, "cosp_referrals_submitted_total": 1,
        'cosp_form_abandoned_total{question="child_age"}': 2}


def test_a_bad_event_never_costs_a_turn():
    broker = metrics.MetricsBroker()
    broker.publish({"event": "user", "parse_data": "not a mapping"})  # logged and skipped, never raised
    assert broker.is_ready()


# --- the alarm, on a store ------------------------------------------------------------------------

def test_the_alarm_is_raised_once_per_stuck_job_and_clears(tmp_path: Path, caplog):
    settings = load_settings({"COSP_VAR_DIR": str(tmp_path), "DELIVERY_ALERT_MINUTES": "60",
                              "TELEGRAM_BOT_TOKEN": "123456:ABCdefGHIjklMNOpqrSTUvwxYZ", "TELEGRAM_STAFF_CHAT_ID": "-100"})
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.db'}")
    posted: List[str] = []
    alarm = StuckDeliveryAlarm(engine, settings, post=lambda _settings, text: posted.append(text))
    now = utcnow()
    assert not alarm.check(now)
    save_referral(engine, make_record("COSP-ABCDE"), ("email",))
    save_referral(engine, make_record("COSP-FGHJK"), ("email",))
    assert not alarm.check(now + timedelta(minutes=59))
    with caplog.at_level(logging.ERROR, logger="actions.delivery.worker"):
        for minutes in (61, 62, 90):
            assert alarm.check(now + timedelta(minutes=minutes))
    errors = [r for r in caplog.records if "stuck-delivery alarm" in r.getMessage()]
    assert len(errors) == 1 and len(posted) == 1
    assert posted[0].startswith("2 referrals are waiting to be delivered since")
    assert "COSP-" not in posted[0] and "Amira" not in posted[0]  # how many and since when: nothing else
    assert heartbeat.alarm(tmp_path, "worker")
    with engine.begin() as conn:
        conn.execute(sql("UPDATE deliveries SET status = 'sent'"))
    assert not alarm.check(now + timedelta(minutes=91))
    assert heartbeat.alarm(tmp_path, "worker") is None


def test_one_referral_reads_as_one():
    assert alarm_text(1, utcnow()).startswith("1 referral is waiting")


# --- the whole system, SMTP refusing then accepting ----------------------------------------------

class Refusing:
    """An SMTP server that refuses every message until told to accept."""

    def __init__(self) -> None:
        self.accepting = False
        self.accepted: List[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if not self.accepting:
            return "451 Requested action aborted: try again later"
        self.accepted.append(envelope.content)
        return "250 OK"


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> Iterator[Dict]:
    if not MODEL.exists():
        pytest.skip("needs the trained model: run `make train`")
    tmp = tmp_path_factory.mktemp("metrics")
    smtp_port, metrics_port = free_port(), free_port()
    mail = Refusing()
    smtp = Controller(mail, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    stack = Stack(tmp, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_TIMEOUT_SECONDS="3",
                  REFERRAL_EMAIL_TO="staff@example.org", METRICS_PORT=str(metrics_port),
                  DELIVERY_ALERT_MINUTES="0.1")
    try:
        stack.start_assistant()
        yield {"stack": stack, "rasa_port": stack.rasa_port, "mail": mail, "tmp": tmp,
               "worker": f"http://127.0.0.1:{metrics_port}/metrics",
               "rasa": f"http://127.0.0.1:{stack.rasa_port}/webhooks/metrics/"}
    finally:
        stack.stop()
        smtp.stop()


def scrape(url: str, **headers: str) -> Dict[str, float]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return samples(response.read().decode())


def health(watched: Dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "python"), "-m", "bot.heartbeat", "worker"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=process_env(COSP_VAR_DIR=str(watched["tmp"])))


@pytest.mark.needs_model
def test_a_referral_stuck_behind_a_refusing_mail_server_is_seen_and_alarmed_once(watched):
    from tests.test_end_to_end import complete_referral

    stack: Stack = watched["stack"]
    reference = complete_referral(watched, "metrics-parent-1")
    wait_until(lambda: scrape(watched["worker"]).get("cosp_deliveries_pending") == 1, "the referral pending", 30)
    wait_until(lambda: scrape(watched["worker"]).get("cosp_delivery_oldest_pending_seconds", 0) > 6,
               "waiting past DELIVERY_ALERT_MINUTES", 60)
    wait_until(lambda: "stuck-delivery alarm:" in stack.log_text(), "the alarm raised", 30)
    failures = scrape(watched["worker"])['cosp_delivery_failures_total{channel="email"}']
    wait_until(lambda: scrape(watched["worker"])['cosp_delivery_failures_total{channel="email"}'] >= failures + 2,
               "two more refused attempts", 60)
    assert stack.log_text().count("stuck-delivery alarm:") == 1  # once, not at every round
    assert scrape(watched["worker"])["cosp_delivery_alarms_total"] == 1
    refused = health(watched)
    assert refused.returncode == 1 and "1 referral is waiting" in refused.stdout
    assert reference not in stack.log_text().split("stuck-delivery alarm:")[1].splitlines()[0]

    watched["mail"].accepting = True
    stack.wait_until_delivered(reference)
    wait_until(lambda: scrape(watched["worker"]).get("cosp_deliveries_pending") == 0, "the queue empty", 30)
    assert scrape(watched["worker"])["cosp_delivery_oldest_pending_seconds"] == 0
    wait_until(lambda: health(watched).returncode == 0, "the alarm cleared", 30)
    assert len([m for m in watched["mail"].accepted if reference.encode() in m]) == 1


@pytest.mark.needs_model
def test_each_rasa_server_counts_its_turns_on_loopback_only(watched):
    from tests.test_end_to_end import say

    before = scrape(watched["rasa"])
    for text in ["hello", "xqzv blorp wibble", "I keep thinking everyone would be better off without me"]:
        say(watched, "metrics-parent-2", text)
    say(watched, "metrics-parent-3", "I'd like to refer myself")
    say(watched, "metrics-parent-3", "stop")
    after = scrape(watched["rasa"])

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert grew("cosp_turns_total") == 5
    assert grew('cosp_safety_replies_total{kind="suicide_self_harm"}') == 1
    assert sum(grew(n) for n in after if n.startswith("cosp_form_abandoned_total")) == 1
    assert "cosp_turns_total" in after and all("metrics-parent" not in n for n in after)  # counts, never who
    with pytest.raises(urllib.error.HTTPError) as refused:
        scrape(watched["rasa"], **{"X-Forwarded-For": "203.0.113.9"})
    assert refused.value.code == 403
