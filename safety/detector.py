"""Risk detection in layers, with three outcomes:
- sure: a kind's safety reply comes first (in a referral, then the question again);
- unsure: the normal answer, plus one line of signposting (999, NHS 111 option 2);
- none: the normal answer.

Every part of a message (the whole, each sentence, word windows of long ones) is read by the risk
phrases (the floor: a phrase match is never less than unsure) and by the trained model. Look-alike
cues (idiom, negation, past and safe, asking as information) turn a phrase match, or a model score
short of SURE_DESPITE_CUE, into unsure."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from safety import cues as look_alike, phrases
from safety.model import RiskModel
from safety.text import parts

SURE, UNSURE, NO_RISK = "sure", "unsure", "none"
OUTCOMES = (SURE, UNSURE, NO_RISK)


@dataclass(frozen=True)
class Thresholds:
    # Chosen by 4-fold cross-validation on safety/corpus (never on tests/blind): see safety/corpus/README.md.
    sure: float = 0.75
    unsure: float = 0.12
    sure_despite_cue: float = 0.9
    short_words: int = 4  # a part this short says little ("it's for me"): the model alone needs more
    short_unsure: float = 0.6
    short_sure: float = 0.9
    phrase_needs: float = 0.3  # a phrase match that is not explicit is sure only if the model gives its part this


@dataclass(frozen=True)
class Assessment:
    outcome: str
    kinds: Tuple[str, ...] = ()  # most likely first
    score: float = 0.0
    cues: Tuple[str, ...] = field(default=())


class Detector:
    def __init__(self, model: Optional[RiskModel], thresholds: Thresholds = Thresholds()) -> None:
        self.model = model
        self.thresholds = thresholds

    def assess(self, text: str) -> Assessment:
        units = parts(text)
        if not units:
            return Assessment(NO_RISK)
        t = self.thresholds
        message_cues = set(look_alike.cues(units[0]))  # units[0] is the whole message: its cues qualify every part
        scores = self.model.scores(units) if self.model else [{} for _ in units]
        best: Dict[str, float] = {}
        sure_kinds, unsure_kinds, seen_cues = set(), set(), set()
        for unit, unit_scores in zip(units, scores):
            unit_cues = message_cues if unit is units[0] else set(look_alike.cues(unit)) | message_cues
            seen_cues |= unit_cues
            short = len(unit.split()) <= t.short_words
            sure_at, unsure_at = (t.short_sure, t.short_unsure) if short else (t.sure, t.unsure)
            for kind, score in unit_scores.items():
                best[kind] = max(best.get(kind, 0.0), score)
                if score >= sure_at and (not unit_cues or score >= max(sure_at, t.sure_despite_cue)):
                    sure_kinds.add(kind)
                elif score >= unsure_at:
                    unsure_kinds.add(kind)
            confirmed = self.model is None or max(unit_scores.values(), default=0.0) >= t.phrase_needs
            for kind, strong in phrases.matches(unit):
                best[kind] = max(best.get(kind, 0.0), t.sure)
                (sure_kinds if (strong or confirmed) and not unit_cues else unsure_kinds).add(kind)
        chosen = sure_kinds or unsure_kinds
        if not chosen:
            return Assessment(NO_RISK, score=max(best.values(), default=0.0))
        kinds = tuple(sorted(chosen, key=lambda k: -best.get(k, 0.0)))
        outcome = SURE if sure_kinds else UNSURE
        return Assessment(outcome, kinds, best.get(kinds[0], 0.0), tuple(sorted(seen_cues)))
