"""The check every conversation test runs: no referral question three turns running (issue 12)."""
from __future__ import annotations

import pytest
import yaml

from tests.support import ROOT, QuestionWatch

RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
AGE = RESPONSES["utter_ask_child_age"][0]["text"]
NOT_AN_AGE = RESPONSES["utter_invalid_age_format"][0]["text"]
PHONE_US = RESPONSES["utter_still_stuck"][0]["text"]
NAME = RESPONSES["utter_ask_caregiver_name"][0]["text"]


def test_the_same_question_three_turns_running_fails() -> None:
    watch = QuestionWatch()
    watch.saw("p", ["Thanks, I've noted: ...", AGE])
    watch.saw("p", [NOT_AN_AGE, AGE])
    with pytest.raises(AssertionError, match="three turns running"):
        watch.saw("p", [AGE])


def test_twice_then_something_else_passes_and_conversations_are_apart() -> None:
    watch = QuestionWatch()
    for texts in ([AGE], [AGE], ["So far I have: ..."], [AGE], [AGE], [NAME]):
        watch.saw("p", texts)
        watch.saw("q", texts)
    watch.saw("r", [AGE])


def test_a_question_asked_in_the_middle_of_a_turn_counts() -> None:
    watch = QuestionWatch()
    watch.saw("p", [AGE])
    watch.saw("p", [AGE, NOT_AN_AGE])
    with pytest.raises(AssertionError):
        watch.saw("p", [NOT_AN_AGE, PHONE_US, AGE])


def test_a_programme_answer_is_not_a_referral_question() -> None:
    watch = QuestionWatch()
    answer = RESPONSES["utter_ask_what_is_cosp"][0]["text"]
    for _ in range(3):
        watch.saw("p", [answer])


def test_a_question_asked_again_after_answering_the_parents_own_question_is_not_a_loop() -> None:
    watch = QuestionWatch()
    answer = RESPONSES["utter_ask_which_caregivers"][0]["text"]
    for _ in range(4):
        watch.saw("p", [answer, AGE])


def test_a_transcript_with_a_question_three_times_running_fails() -> None:
    watch = QuestionWatch()
    assert watch.check_transcript("c", [AGE, NOT_AN_AGE, AGE, "Thanks, I've noted: ...", AGE, NOT_AN_AGE, AGE]) == 4
    with pytest.raises(AssertionError, match="three times running"):
        watch.check_transcript("c", [AGE, NOT_AN_AGE, AGE, NOT_AN_AGE, PHONE_US, AGE])
