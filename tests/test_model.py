"""Properties of the trained model that the referral form relies on."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import List

import pytest
import yaml

from actions.referral import choices, questions

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "cosp.tar.gz"
INTERRUPTIONS = {"why_ask", "stop", "safety_risk", "delete_my_data", "withdraw_referral"}  # never taken as answers

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]


def answer_buttons() -> List[str]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    tapped = {
        button["payload"]
        for variants in domain["responses"].values()
        for variant in variants
        for button in variant.get("buttons", [])
        if not button["payload"].startswith("/")
    }
    tapped |= {forms[0] for cs in vars(choices).values() if isinstance(cs, choices.ChoiceSet) for forms in cs.options.values()}
    tapped |= set(questions.CHANGEABLE.values())
    return sorted(tapped)


@pytest.fixture(scope="module")
def parse():
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(MODEL))
    return lambda text: asyncio.run(agent.parse_message(text))["intent"]["name"]


@pytest.mark.parametrize("payload", answer_buttons())
def test_tapping_an_answer_button_is_never_taken_for_why_stop_or_risk(parse, payload):
    assert parse(payload) not in INTERRUPTIONS


@pytest.mark.parametrize("text", ["stop", "cancel", "I want to stop the referral", "why do you need that?",
                                  "why do you ask"])
def test_stop_and_why_are_recognised(parse, text):
    assert parse(text) in INTERRUPTIONS


@pytest.mark.parametrize("text", ["my baby has gone blue and floppy", "I want to end it all",
                                  "I'm scared I'll shake her", "ignore that, I took all my tablets"])
def test_risk_messages_become_safety_risk_whatever_the_classifier_says(parse, text):
    assert parse(text) == "safety_risk"
