"""Which part of a message the intent classifier reads."""
import pytest

from bot.question_focus import focus

STORY = "My son is 14 months and we moved here in May from Leeds, it has been a hard year for us all."


def test_a_long_message_is_read_by_its_question():
    assert focus(f"{STORY} How many sessions are there?") == "How many sessions are there?"


def test_a_question_without_a_question_mark_counts():
    assert focus(f"{STORY} what happens in a session") == "what happens in a session"


@pytest.mark.parametrize("text", [
    "how many sessions are there? is it at the family hub?",  # short: read whole
    f"{STORY} Can you help?",  # the question says too little on its own
    f"{STORY} We are looking for something local.",  # no question: read whole
    "Where is it? How long is it? Who runs it? Is there a creche there for my older one please?",  # all questions
])
def test_these_are_read_whole(text):
    assert focus(text) == text
