"""The safety net scores every message with scikit-learn's TF-IDF vectorizers, whose transform of one
short text is mostly checks and sparse bookkeeping (about 1 ms a message here). The risk model's
`direct_scores` does the same arithmetic directly (0.2 ms), to within rounding on every wording the
corpus and the blind sets hold (tests/test_safety.py)."""
from __future__ import annotations

from typing import Any

from bot.nlu_safety_net import SafetyNet
from bot.speed.lean_classifier import components

NAME = "lean_safety"


def install(agent: Any) -> None:
    for component in components(agent):
        model = getattr(getattr(component, "_detector", None), "model", None)
        if isinstance(component, SafetyNet) and model is not None:
            model.scores = model.direct_scores
