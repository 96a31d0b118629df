"""What a completed referral is, once validated: the unit stored and delivered to staff."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Tuple


@dataclass(frozen=True)
class ReferralRecord:
    reference: str  # e.g. "COSP-7KQ2M"; the only identifier that may appear in subjects and logs
    submission_key: str  # the same submission retried gives the same key, so it is stored once
    referral_type: str  # "self" or "professional"
    answers: List[Tuple[str, str]]  # (question label, answer) in the order staff read them
    data: Dict[str, Any]  # the validated slot values, machine-readable
    consent_version: str
    consent_text: str
    consent_given_at: datetime  # timezone-aware, UTC
    conversation_id: str = ""  # the chat it came from, so that chat (and only it) can ask for its status
    safety_kinds: Tuple[str, ...] = ()  # kinds of safety reply given in that chat (never the words)
