"""The NLU gate (tests/tools/nlu_accuracy.py) fails when it should: tried on deliberately broken
predictions over the real held-out set, risk wordings and domain, no model needed."""
from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from bot.service_responses import domain_responses
from tests.support import ROOT
from tests.tools import nlu_accuracy as gate

EXAMPLES = gate.load_examples(ROOT / "tests" / "nlu" / "test_nlu.yml")
RISKS = gate.load_lines(ROOT / "tests" / "data" / "risk_messages.txt")
HARMLESS = gate.load_lines(ROOT / "tests" / "data" / "non_risk_messages.txt")
RESPONSES = domain_responses()  # as parents read them: the default profile's details filled in


def verdict(predicted: Optional[List[str]] = None, risks: Optional[List[str]] = None,
            harmless: Optional[List[str]] = None) -> gate.Verdict:
    """The gate on perfect predictions, but for what a test breaks."""
    return gate.judge(EXAMPLES, predicted or [truth for _, truth in EXAMPLES],
                      RISKS, risks or [gate.SAFETY] * len(RISKS),
                      HARMLESS, harmless or ["ask_what_is_cosp"] * len(HARMLESS), RESPONSES)


def misread(intent: str, as_intent: str, share: float = 1.0) -> List[str]:
    """Perfect predictions, except that `share` of `intent`'s examples are read as `as_intent`."""
    total = sum(truth == intent for _, truth in EXAMPLES)
    budget = round(total * share)
    predicted = []
    for _, truth in EXAMPLES:
        if truth == intent and budget:
            predicted.append(as_intent)
            budget -= 1
        else:
            predicted.append(truth)
    return predicted


def test_perfect_predictions_pass() -> None:
    result = verdict()
    assert result.passed, result.failures
    assert result.result["intent_accuracy"] == result.result["answer_accuracy"] == 1.0


@pytest.mark.parametrize("intent", ["stop", "why_ask", "start_referral"])
def test_losing_every_example_of_a_floor_intent_fails_though_overall_accuracy_holds(intent: str) -> None:
    result = verdict(misread(intent, "inform"))

    assert result.result["intent_accuracy"] >= gate.THRESHOLD  # one overall figure would have passed it
    assert not result.passed
    assert any(failure.startswith(f"{intent}:") for failure in result.failures), result.failures


def test_losing_a_third_of_the_stop_examples_fails() -> None:
    result = verdict(misread("stop", "inform", share=1 / 3))
    assert [failure for failure in result.failures if failure.startswith("stop:")], result.failures


def test_one_missed_risk_message_fails() -> None:
    result = verdict(risks=[gate.SAFETY] * (len(RISKS) - 1) + ["ask_what_is_cosp"])
    assert not result.passed
    assert any("missed the safety reply" in failure for failure in result.failures)
    assert any(failure.startswith(f"{gate.SAFETY}:") for failure in result.failures)


def test_one_false_alarm_fails() -> None:
    result = verdict(harmless=[gate.SAFETY] + ["ask_what_is_cosp"] * (len(HARMLESS) - 1))
    assert not result.passed
    assert result.result["false_alarms"] == [HARMLESS[0]]
    assert any("got the safety reply" in failure for failure in result.failures)


def test_the_fallback_is_never_a_right_answer() -> None:
    """utter_default gives the phone number and email, which is all some topics must say."""
    for topic in ("ask_talk_to_person", "ask_unknown_detail", "ask_how_to_refer"):
        phrases = gate.MUST_SAY[topic]
        assert all(p.lower() in gate.reply_text(RESPONSES, gate.FALLBACK).lower() for p in phrases)
        assert not gate.answered(RESPONSES, topic, gate.FALLBACK)
    result = verdict(misread("ask_talk_to_person", gate.FALLBACK))
    wrong = {(truth, guess) for _, truth, guess in result.wrong_answers}
    assert wrong == {("ask_talk_to_person", gate.FALLBACK)}
    assert result.result["recall_by_intent"]["ask_talk_to_person"] == 0.0


def test_an_answer_shared_by_two_topics_is_still_a_right_answer() -> None:
    """ask_key_messages says what ask_hidden_needs must: a parent asking either gets the facts."""
    result = verdict(misread("ask_hidden_needs", "ask_key_messages"))
    assert result.result["answer_accuracy"] == 1.0


def test_accuracy_under_the_threshold_fails() -> None:
    predicted = ["greet"] * len(EXAMPLES)
    result = verdict(predicted)
    assert any(failure.startswith("intent_accuracy") for failure in result.failures)
    assert any(failure.startswith("answer_accuracy") for failure in result.failures)


def test_every_floor_intent_has_examples_to_be_judged_on() -> None:
    recall: Dict[str, float] = verdict().result["recall_by_intent"]
    assert set(gate.FLOORS) <= set(recall)
