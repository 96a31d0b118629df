"""Property-based: thousands of random and hostile messages through the running assistant (the real
Rasa server, action server and delivery worker, over the REST channel). For every message: HTTP 200
and a JSON list, no process dies, and no referral slot holds a value its own check would refuse.
Afterwards: no personal data in the logs, no crash in them, and every stored referral passes its
checks and has consent.

The bugs it found (now fixed) each keep a narrow test of their own (KNOWN_BUGS and the log tests
below), so a regression names itself while the property keeps guarding everything else.

Slots are read from Rasa's SQL tracker store (its HTTP API is off), replayed with Rasa's own tracker
so restarts, sessions and rewinds count exactly as they do in Rasa. Derandomized: the same messages
every run."""
from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from actions.referral import questions as q
from actions.referral.consent import is_known_version
from actions.referral.form import CONSENT_GIVEN_AT, CONSENT_VERSION_SLOT, check
from actions.referral.result import Valid
from actions.referral.submission import first_unfit_answer
from deploy.cluster import wait_until
from tests import strategies as s
from tests.support import MODEL, ROOT, QuestionWatch, Stack

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]

MIN_MESSAGES = 2_000
CONVERSATIONS = 125  # generated, about 19 messages each, plus the explicit examples: about 2,500 messages
TIMEOUT = 30
NOT_RECHECKED_AS_TEXT = {q.REVIEW, q.FIELD_TO_CHANGE}
SLOT_CHECKED_FOR_VALIDITY_ONLY = {q.CHILD_AGE}  # stored as "20 months (born ...)": must still read as an eligible age


@dataclass
class Run:
    stack: Stack
    tracker_db: Path
    referral_db: Path
    messages: int = 0
    conversations: int = 0
    plain_markers_sent: Set[str] = field(default_factory=set)
    slash_markers_sent: Set[str] = field(default_factory=set)
    deepest: Set[str] = field(default_factory=set)  # slots seen filled, to show how far conversations got
    known_bugs: Dict[str, List[str]] = field(default_factory=dict)  # see KNOWN_BUGS
    seconds_talking: float = 0.0
    slowest: List[Tuple[float, int, str]] = field(default_factory=list)
    long_messages: int = 0
    seconds_on_long_messages: float = 0.0
    seconds_checking: float = 0.0
    watch: QuestionWatch = field(default_factory=QuestionWatch)  # no referral question three turns running

    def say(self, sender: str, text: str) -> List[Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.stack.rasa_port}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        took = time.perf_counter() - started
        self.seconds_talking += took
        if len(text) > 1_000:
            self.long_messages += 1
            self.seconds_on_long_messages += took
        self.slowest = sorted([*self.slowest, (took, len(text), text[:30])], reverse=True)[:5]
        assert status == 200, f"HTTP {status} for {text[:300]!r}: {body[:500]!r}"
        replies = json.loads(body)
        assert isinstance(replies, list), f"not a JSON list for {text[:300]!r}: {body[:500]!r}"
        self.watch.saw(sender, [r.get("text", "") for r in replies if isinstance(r, dict)])
        self.messages += 1
        if s.is_forced_intent(text):
            assert not s.markers_in(text, s.PLAIN_MARKERS), "the strategies keep the two sets of markers apart"
            self.slash_markers_sent.update(s.markers_in(text, s.SLASH_MARKERS))
        else:
            self.plain_markers_sent.update(s.markers_in(text, s.PLAIN_MARKERS))
        return replies


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("hostile")
    stack = Stack(tmp)
    try:
        stack.start_assistant()
        yield Run(stack, tmp / "tracker.db", tmp / "referrals.db")
    finally:
        stack.stop()


# --- the conversation as Rasa sees it -------------------------------------------------------------
class StoredConversation:
    """One conversation's tracker, rebuilt from the rows Rasa's SQL tracker store wrote for it:
    each new row is applied to Rasa's own DialogueStateTracker, so restarts, new sessions and
    rewinds ("/back", fallbacks) change the slots exactly as they do inside Rasa."""

    _slots: Any = None

    def __init__(self, tracker_db: Path, sender: str) -> None:
        from rasa.shared.core.domain import Domain
        from rasa.shared.core.trackers import DialogueStateTracker

        if StoredConversation._slots is None:
            StoredConversation._slots = Domain.load(str(ROOT / "domain.yml")).slots
        self.tracker_db, self.sender, self.last_id = tracker_db, sender, 0
        self.tracker = DialogueStateTracker(sender, [slot for slot in StoredConversation._slots])

    def slots(self) -> Dict[str, Any]:
        from rasa.shared.core.events import Event

        with sqlite3.connect(self.tracker_db, timeout=30, isolation_level=None) as conn:
            rows = conn.execute(
                "SELECT id, data FROM events WHERE sender_id = ? AND id > ? ORDER BY id", (self.sender, self.last_id)
            ).fetchall()
        for row_id, data in rows:
            self.tracker.update(Event.from_parameters(json.loads(data)))
            self.last_id = row_id
        assert self.last_id, f"no stored events for {self.sender}: is Rasa's SQL tracker store in use?"
        return self.tracker.current_slot_values()


class Problem(NamedTuple):
    slot: str
    value: Any
    why: str

    def __str__(self) -> str:
        shown = self.value[:200] if isinstance(self.value, str) else self.value
        return f"{self.slot}={shown!r}: {self.why}"


def unfit_slots(values: Mapping[str, Any], today: date) -> List[Problem]:
    """Each referral slot holding something its check would not give back, with why."""
    problems = []
    for slot in q.REFERRAL_SLOTS:
        value = values.get(slot)
        if value is None:
            continue
        if slot == q.REVIEW:
            if value not in ("send", "change"):
                problems.append(Problem(slot, value, "not send/change"))
        elif slot == q.FIELD_TO_CHANGE:
            problems.append(Problem(slot, value, "should be cleared once the change is taken"))
        elif not isinstance(value, str):
            problems.append(Problem(slot, value, "not text"))
        else:
            checked = check(slot, value, values, today)
            if not isinstance(checked, Valid):
                problems.append(Problem(slot, value, str(checked)))
            elif checked.value != value and slot not in SLOT_CHECKED_FOR_VALIDITY_ONLY:
                problems.append(Problem(slot, value, f"re-checks to {checked.value[:200]!r}"))
    version = values.get(CONSENT_VERSION_SLOT)
    if version is not None and not is_known_version(version):
        problems.append(Problem(CONSENT_VERSION_SLOT, version, "unknown version"))
    given_at = values.get(CONSENT_GIVEN_AT)
    if given_at is not None:
        try:
            aware = datetime.fromisoformat(str(given_at)).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            problems.append(Problem(CONSENT_GIVEN_AT, given_at, "not an aware ISO time"))
    return problems


# Bugs this test has found, each with its own strict xfail test below. The property test records a
# message whose only problems are one known bug's, and goes on checking everything else.
KNOWN_BUGS: Dict[str, Callable[[Problem], bool]] = {
    # An access-needs answer naming a need is copied into access_needs_details unchecked.
    "access_needs_details_too_long": lambda p: p.slot == q.ACCESS_NEEDS_DETAILS and "help_too_long" in p.why,
    # A typed "/session_start" during the form: the raw text is put in the asked slot and carried over.
    "session_start_text_kept_in_slot": lambda p: str(p.value).strip().startswith("/session_start"),
}


def known_bug(problems: List[Problem]) -> Optional[str]:
    for name, matches in KNOWN_BUGS.items():
        if problems and all(matches(problem) for problem in problems):
            return name
    return None


def _today() -> date:
    return datetime.now(timezone.utc).astimezone().date()  # as the action server sees it


# --- the property --------------------------------------------------------------------------------
HAPPY_PATH = ["I'd like to make a referral", "Myself or my family", s.PLAIN_NAME, "Parent", "18 months",
              s.PLAIN_HELP, s.PLAIN_PHONE, s.PLAIN_EMAIL, "Text message", "Yes, that's fine", s.PLAIN_POSTCODE,
              "No, thanks", "No, none", "Yes, I agree", "Send referral"]

ACCESS_NEEDS_AT_LENGTH = (  # 2,123 characters, naming a need
    "We would need a sign language interpreter, " + "and step-free access for the buggy and a quiet room " * 40
)


@settings(
    max_examples=CONVERSATIONS,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)
@given(messages=s.conversations())
@example(messages=HAPPY_PATH)
@example(messages=HAPPY_PATH[:3] + s.FORCED + HAPPY_PATH[3:])  # every forced intent, mid-form
@example(messages=HAPPY_PATH[:-1] + ["Change an answer", "Phone", "No phone", "Skip", "Send referral"])
@example(messages=["I'd like to make a referral", "A professional", s.PLAIN_NAME, "Health visitor", "Navigo",
                   s.PLAIN_EMAIL, "Yes, they agreed", "Zofia Exampleńska", "Foster carer", "11 weeks",
                   "help with <b>settling</b> at night 🌙 =HYPERLINK(\"x\")", "No phone", s.PLAIN_EMAIL,
                   s.PLAIN_POSTCODE, "Yes, please", "I need a Polish interpreter", "Yes, I agree", "Send referral"])
@example(messages=HAPPY_PATH[:12] + [ACCESS_NEEDS_AT_LENGTH] + HAPPY_PATH[13:])
@example(messages=["I'd like to make a referral", "A professional", s.PLAIN_NAME, "<b>Health visitor</b>",
                   "Health visitor", "Navigo [Grimsby]", "Navigo"])
@example(messages=HAPPY_PATH[:3] + ["/session_start", "I'd like to make a referral"] + HAPPY_PATH[1:])
def test_hostile_conversations_leave_no_invalid_slot(run: Run, messages: List[str]) -> None:
    run.conversations += 1
    sender = f"hostile-{run.conversations}"  # fresh for every example, also when Hypothesis replays one
    conversation = StoredConversation(run.tracker_db, sender)
    for index, text in enumerate(messages):
        run.say(sender, text)
        started = time.perf_counter()
        values = conversation.slots()
        run.deepest.update(slot for slot in q.REFERRAL_SLOTS if values.get(slot) is not None)
        problems = unfit_slots(values, _today())
        run.seconds_checking += time.perf_counter() - started
        bug = known_bug(problems)
        if bug:
            run.known_bugs.setdefault(bug, []).append(
                f"{sender} message {index} ({len(text)} characters) {text[:80]!r}, after "
                f"{[m[:40] for m in messages[:index]]}: {[str(p) for p in problems]}"
            )
            continue
        assert not problems, (
            f"after message {index} of {sender} ({text[:300]!r}), previous {[m[:80] for m in messages[:index]]}: "
            f"{[str(p) for p in problems]}"
        )
    dead = {name: proc.returncode for name, proc in run.stack.procs.items() if proc.poll() is not None}
    assert not dead, f"processes exited: {dead}"


# --- afterwards ----------------------------------------------------------------------------------
def _after_the_conversations(run: Run) -> None:
    assert run.messages >= MIN_MESSAGES, (
        f"only {run.messages} messages were sent: run the whole module (the property test goes first)"
    )


def test_thousands_of_messages_reached_deep_into_the_form(run: Run) -> None:
    _after_the_conversations(run)
    assert {q.REFERRER_CONTACT, q.POSTCODE, q.ACCESS_NEEDS_DETAILS, q.CONSENT} <= run.deepest, sorted(run.deepest)


def test_access_needs_details_are_never_too_long(run: Run) -> None:
    _after_the_conversations(run)
    assert not run.known_bugs.get("access_needs_details_too_long"), run.known_bugs["access_needs_details_too_long"][:3]


def test_a_typed_session_start_leaves_no_raw_text_in_a_slot(run: Run) -> None:
    _after_the_conversations(run)
    found = run.known_bugs.get("session_start_text_kept_in_slot")
    assert not found, found[:3]


# Rasa's NLG logs an ERROR, with slot values in it, when a response holds braces that are no placeholder.
INTERPOLATOR_ERROR = re.compile(r"ERROR\s+rasa\.core\.nlg\.interpolator")


def _log_hits(log: str, markers: Mapping[str, Sequence[str]], sent: Set[str], skip: Optional[re.Pattern] = None
              ) -> Dict[str, List[str]]:
    """The log lines (but those matching `skip`) that hold one of the sent markers."""
    needles = {needle.lower(): marker for marker in sent for needle in markers[marker]}
    hits: Dict[str, List[str]] = {}
    for line in log.splitlines():
        if skip and skip.search(line):
            continue
        lowered = line.lower()
        for needle, marker in needles.items():
            if needle in lowered:
                at = lowered.find(needle)
                hits.setdefault(marker, []).append(line[max(0, at - 150): at + 150])
    return hits


def test_no_personal_data_typed_as_answers_in_the_logs(run: Run) -> None:
    _after_the_conversations(run)
    assert run.plain_markers_sent == set(s.PLAIN_MARKERS), run.plain_markers_sent
    hits = _log_hits(run.stack.log_text(), s.PLAIN_MARKERS, run.plain_markers_sent)
    assert not hits, {marker: lines[:3] for marker, lines in hits.items()}


def test_no_personal_data_typed_after_a_slash_in_the_logs(run: Run) -> None:
    _after_the_conversations(run)
    assert run.slash_markers_sent, "no personal data was typed after a '/'"
    hits = _log_hits(run.stack.log_text(), s.SLASH_MARKERS, run.slash_markers_sent)
    assert not hits, {marker: lines[:3] for marker, lines in hits.items()}


def test_the_markup_reply_logs_no_error(run: Run) -> None:
    _after_the_conversations(run)
    errors = [line for line in run.stack.log_text().splitlines() if INTERPOLATOR_ERROR.search(line)]
    assert not errors, [line[:600] for line in errors[:3]]


def test_no_crash_in_the_logs(run: Run) -> None:
    _after_the_conversations(run)
    wait_until(lambda: _undelivered(run) == 0, "the worker has sent every referral", 60)  # its logs are complete
    log = run.stack.log_text()
    for sign in ("Traceback (most recent call last)", "Falling back to use the 'InMemoryTrackerStore'"):
        assert sign not in log, log[max(0, log.find(sign) - 2000): log.find(sign) + 3000]
    errors = [line for line in log.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", line)]
    assert not errors, errors[:20]
    dead = {name: proc.returncode for name, proc in run.stack.procs.items() if proc.poll() is not None}
    assert not dead, f"processes exited: {dead}"


def _undelivered(run: Run) -> int:
    if not run.referral_db.exists():
        return 0
    with closing(sqlite3.connect(run.referral_db, timeout=30)) as conn:
        return conn.execute("SELECT count(*) FROM deliveries WHERE status <> 'sent'").fetchone()[0]


def test_every_stored_referral_passes_its_checks_and_has_consent(run: Run) -> None:
    _after_the_conversations(run)
    with sqlite3.connect(run.referral_db, timeout=30, isolation_level=None) as conn:
        rows = conn.execute("SELECT reference, referral_type, data_json, consent_version FROM referrals").fetchall()
    assert rows, "no referral was stored: the conversations never got to the end"
    today = _today()
    for reference, referral_type, data_json, consent_version in rows:
        data = json.loads(data_json)
        assert data.get(q.CONSENT) == "yes", (reference, data.get(q.CONSENT))
        assert is_known_version(consent_version), (reference, consent_version)
        assert data.get(q.REFERRER_TYPE) == referral_type, (reference, referral_type)
        if referral_type == "professional":
            assert data.get(q.FAMILY_AGREED) == "yes", reference
        assert first_unfit_answer(data, today) is None, (reference, data)
        for slot, value in data.items():
            if slot in NOT_RECHECKED_AS_TEXT or value is None:
                continue
            checked = check(slot, value, data, today)
            assert isinstance(checked, Valid), (reference, slot, value, checked)
            assert checked.value == value or slot in SLOT_CHECKED_FOR_VALIDITY_ONLY, (reference, slot, value)
    print(f"\n{run.messages} messages in {run.conversations} conversations ({run.seconds_talking:.0f} s waiting for "
          f"replies, of which {run.seconds_on_long_messages:.0f} s for {run.long_messages} over 1,000 characters; "
          f"{run.seconds_checking:.0f} s reading slots), {len(rows)} referrals stored, "
          f"known bugs hit: { {bug: len(hits) for bug, hits in run.known_bugs.items()} }; slowest replies: "
          f"{[(round(took, 2), length, start) for took, length, start in run.slowest]}")
