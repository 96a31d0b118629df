"""The story gate (tests/tools/replay_stories.py) runs the real actions and fails when a story's
actions, slots, form state or intent are not what the assistant really does."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest

from tests.support import MODEL
from tests.tools import replay_stories

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]

STORY = """version: "3.1"
stories:
- story: the first answers
  steps:
  - user: |
      I'd like to make a referral
    intent: start_referral
  - action: utter_referral_intro
  - action: referral_form
  - active_loop: referral_form
  - slot_was_set:
    - requested_slot: referrer_type
  - user: |
      Myself or my family
    intent: inform
  - action: referral_form
  - slot_was_set:
    - referrer_type: self
    - requested_slot: caregiver_name
  - user: |
      07911 123456
    intent: inform
  - action: referral_form
  - slot_was_set:
    - requested_slot: caregiver_name
  - user: |
      Jane Example
    intent: inform
  - action: referral_form
  - slot_was_set:
    - caregiver_name: Jane Example
    - requested_slot: relationship
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory) -> Iterator[Any]:
    with replay_stories.action_server() as url:
        yield replay_stories.load_agent(url, tmp_path_factory.mktemp("replay") / "tracker.db")


def replay(agent: Any, tmp_path: Path, story: str) -> List[replay_stories.Mismatch]:
    path = tmp_path / "stories.yml"
    path.write_text(story)
    found, count = replay_stories.run([path], agent)
    assert count == 1
    return found


def test_a_story_the_assistant_really_follows_passes(agent: Any, tmp_path: Path) -> None:
    assert replay(agent, tmp_path, STORY) == []


def test_a_slot_value_the_validation_never_sets_fails(agent: Any, tmp_path: Path) -> None:
    (mismatch,) = replay(agent, tmp_path, STORY.replace("- caregiver_name: Jane Example", "- caregiver_name: Jane Exampel"))
    assert (mismatch.what, mismatch.expected, mismatch.actual) == ("slot caregiver_name by referral_form", "Jane Exampel", "Jane Example")
    assert mismatch.turn == 4


def test_a_slot_the_story_says_was_set_but_was_not_fails(agent: Any, tmp_path: Path) -> None:
    """A phone number where the name is asked is refused (the form empties the slot), though the story
    says it was kept; a replay of the story's own events would have put it in."""
    broken = STORY.replace("""  - slot_was_set:
    - requested_slot: caregiver_name
  - user: |
      Jane""", """  - slot_was_set:
    - caregiver_name: 07911 123456
  - user: |
      Jane""")
    (mismatch,) = replay(agent, tmp_path, broken)
    assert (mismatch.what, mismatch.actual, mismatch.turn) == ("slot caregiver_name by referral_form", None, 3)


def test_a_wrong_action_fails(agent: Any, tmp_path: Path) -> None:
    (mismatch,) = replay(agent, tmp_path, STORY.replace("- action: utter_referral_intro", "- action: utter_greet"))
    assert mismatch.what == "actions" and mismatch.turn == 1
    assert mismatch.expected[0] == "utter_greet" and mismatch.actual[0] == "utter_referral_intro"


def test_a_form_the_story_says_ended_but_goes_on_fails(agent: Any, tmp_path: Path) -> None:
    broken = STORY.rstrip("\n") + "\n  - active_loop: null\n"
    (mismatch,) = replay(agent, tmp_path, broken)
    assert (mismatch.what, mismatch.expected, mismatch.actual) == ("active loop at the end of the turn", None, "referral_form")


def test_a_wrong_intent_outside_the_form_fails(agent: Any, tmp_path: Path) -> None:
    (mismatch,) = replay(agent, tmp_path, STORY.replace("intent: start_referral", "intent: greet"))
    assert (mismatch.what, mismatch.expected, mismatch.actual) == ("intent", "greet", "start_referral")
