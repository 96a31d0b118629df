"""Whether a safety reply was given in the conversation a referral came from, and of which kinds:
staff are told (never the words), so they can call that family first."""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Sequence

from safety.kinds import KIND_ENTITY, LABELS, SAFETY_INTENT

UNSPECIFIED = "unspecified"


def kinds_signposted(events: Iterable[Mapping[str, Any]]) -> List[str]:
    """The kinds of every message in these tracker events that got the safety reply."""
    kinds: List[str] = []
    for event in events:
        parse = event.get("parse_data") or {} if event.get("event") == "user" else {}
        if (parse.get("intent") or {}).get("name") != SAFETY_INTENT:
            continue
        found = [e.get("value") for e in parse.get("entities") or [] if e.get("entity") == KIND_ENTITY]
        for kind in found or [UNSPECIFIED]:
            if kind not in kinds:
                kinds.append(kind)
    return kinds


def staff_notice(kinds: Sequence[str]) -> str:
    """The line staff read ("" when no safety reply was given)."""
    if not kinds:
        return ""
    named = ", ".join(LABELS.get(kind, "not recorded") for kind in kinds)
    return f"Safety signposting was given in this conversation ({named}). Consider contacting this family first."
