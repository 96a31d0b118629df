"""What the load sends: each kind of turn, the untimed turn before it, and how a right reply reads."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from tests.tools.nlu_accuracy import MUST_SAY


@dataclass(frozen=True)
class Turn:
    message: str
    must_say: Tuple[str, ...]  # every phrase must be in the reply (case-insensitive)


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Turn  # the conversation's first turn, not timed
    timed: Turn


GREETING = Turn("Hello", ("COSP",))
START_REFERRAL = Turn("I'd like to make a referral", ("Are you referring yourself, or a family you work with?",))
PROGRAMME = Scenario("programme_question", GREETING,
                     Turn("What is Circle of Security Parenting?", tuple(MUST_SAY["ask_what_is_cosp"])))
FORM_STEP = Scenario("form_step", START_REFERRAL, Turn("Myself or my family", ("What's your name?",)))
SCENARIOS = [PROGRAMME, FORM_STEP]
# The self-referral's next answer, for the throughput mix.
NAME = Turn("Zofia Exampleńska", ("relationship",))

REST_PATH = "/webhooks/rest/webhook"


def new_sender(kind: str) -> str:
    return f"bench-{kind}-{uuid.uuid4().hex[:12]}"


def reply_text(body: Any) -> str:
    if not isinstance(body, list):
        return ""
    return " ".join(str(message.get("text", "")) for message in body if isinstance(message, dict))


def problem(turn: Turn, status: int, body: Any) -> Optional[str]:
    """None when the reply is right, else the kind of error: http_<status>, empty or wrong."""
    if status != 200:
        return f"http_{status}"
    text = reply_text(body)
    if not text.strip():
        return "empty"
    if not all(phrase.lower() in text.lower() for phrase in turn.must_say):
        return "wrong"
    return None


def payload(sender: str, turn: Turn) -> dict:
    return {"sender": sender, "message": turn.message}
