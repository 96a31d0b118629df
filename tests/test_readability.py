"""The programme answers and the safety replies read at a reading age of 9 to 11 (NHS content
guidance): Flesch-Kincaid grade, as textstat 0.7.3 counts it offline, mean at most 5 and none over 7.

Each reply is scored as a parent sees it: the team's details from the default profile and, for the
next-group replies, a group line as the action writes it."""
from datetime import date
from statistics import mean
from typing import Dict, List

import pytest
import textstat

from actions import group_dates
from bot.service_profile import Group
from bot.service_responses import domain_responses

MEAN_AT_MOST = 5.0
EACH_AT_MOST = 7.0
GROUP = Group(starts=date(2027, 1, 12), day="Tuesday", time="10:00 to 12:00", venue="Example Family Hub",
              address="1 Example Road, Grimsby")


def answers() -> Dict[str, str]:
    responses = domain_responses()
    names = [name for name in responses if name.startswith("utter_ask_")]
    # the programme answers run from the first utter_ask_ to utter_ask_unknown_detail; the referral
    # form's questions (also utter_ask_*) come after
    programme = names[: names.index("utter_ask_unknown_detail") + 1]
    group_list = f"- {group_dates.describe(GROUP)}"
    texts: Dict[str, str] = {}
    for name in programme + ["utter_next_groups", "utter_where_next_groups", "utter_safety"]:
        for i, variant in enumerate(responses[name]):
            texts[f"{name}[{i}]"] = variant["text"].replace("{group_list}", group_list)
    return texts


def grades() -> Dict[str, float]:
    return {name: textstat.flesch_kincaid_grade(text) for name, text in answers().items()}


def test_every_programme_answer_and_safety_reply_is_scored():
    names = answers()
    assert "utter_ask_what_is_cosp[0]" in names and "utter_ask_unknown_detail[0]" in names
    assert "utter_ask_phone[0]" not in names, "the referral form's questions are not programme answers"
    assert sum(name.startswith("utter_safety") for name in names) >= 8, "every kind of safety reply"
    assert not [t for t in names.values() if "{" in t], "scored as a parent reads it, placeholders filled"


def test_answers_read_at_a_reading_age_of_9_to_11():
    scored = grades()
    too_hard: List[str] = [f"{name}: grade {g:.1f}" for name, g in scored.items() if g > EACH_AT_MOST]
    assert not too_hard, f"over grade {EACH_AT_MOST}: {too_hard}"
    assert mean(scored.values()) <= MEAN_AT_MOST, f"mean grade {mean(scored.values()):.2f}"


@pytest.mark.parametrize("text, over", [
    ("The Circle of Security Parenting approach is a programme for parents and primary caregivers developed "
     "to support them to develop strong and warm relationships with their baby or child.", EACH_AT_MOST),
    ("The group is for you. It is kind. You can talk.", None),
])
def test_the_score_tells_hard_from_plain(text, over):
    grade = textstat.flesch_kincaid_grade(text)
    assert (grade > over) if over else (grade <= MEAN_AT_MOST)
