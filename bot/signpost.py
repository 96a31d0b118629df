"""The one line of signposting a channel adds after the answer when the safety net was unsure."""
from __future__ import annotations

from typing import Optional

from bot.nlu_safety_net import outcome_of
from safety import UNSURE

SIGNPOST = "If you or your baby are in danger now, call 999. For urgent mental health help, call NHS 111 and choose option 2."


def signpost_for(message_id: Optional[str]) -> Optional[str]:
    """The line to add after this message's replies, or None."""
    assessment = outcome_of(message_id)
    return SIGNPOST if assessment is not None and assessment.outcome == UNSURE else None
