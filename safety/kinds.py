"""The kinds of risk docs/content.md names: each has its own recognition and its own reply."""
from __future__ import annotations

from typing import Tuple

SUICIDE_SELF_HARM = "suicide_self_harm"
HARM_TO_CHILD = "harm_to_child"
BABY_EMERGENCY = "baby_emergency"
DOMESTIC_ABUSE = "domestic_abuse"
SEVERE_MENTAL_ILLNESS = "severe_mental_illness"
NOT_COPING = "not_coping"
NEGLECT = "neglect"
NONE = "none"

# How the Rasa adapter marks a sure risk, and how the referral reads it back from the conversation.
SAFETY_INTENT = "safety_risk"
KIND_ENTITY = "risk_kind"

KINDS: Tuple[str, ...] = (
    SUICIDE_SELF_HARM,
    HARM_TO_CHILD,
    BABY_EMERGENCY,
    DOMESTIC_ABUSE,
    SEVERE_MENTAL_ILLNESS,
    NOT_COPING,
    NEGLECT,
)

# What staff read for each kind (never the parent's words).
LABELS = {
    SUICIDE_SELF_HARM: "thoughts of suicide or self-harm",
    HARM_TO_CHILD: "harm to a baby or child",
    BABY_EMERGENCY: "a baby's medical emergency",
    DOMESTIC_ABUSE: "domestic abuse",
    SEVERE_MENTAL_ILLNESS: "severe mental illness",
    NOT_COPING: "not coping",
    NEGLECT: "neglect or a child alone",
}
