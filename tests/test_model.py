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


@pytest.fixture(scope="module")
def parse_data():
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(MODEL))
    return lambda text: asyncio.run(agent.parse_message(text))


@pytest.mark.parametrize("text, kind", [
    ("my husband strangled me last night and says he'll do it again", "domestic_abuse"),
    ("my baby has gone blue and floppy", "baby_emergency"),
    ("I want to end it all", "suicide_self_harm"),
])
def test_a_sure_risk_names_its_kind_for_the_reply(parse_data, text, kind):
    parsed = parse_data(text)
    assert parsed["intent"]["name"] == "safety_risk"
    assert parsed["safety"]["outcome"] == "sure"
    assert {"entity": "risk_kind", "value": kind}.items() <= parsed["entities"][-1].items()


def test_asking_about_shaken_baby_syndrome_is_answered_not_alarmed(parse_data):
    parsed = parse_data("what is shaken baby syndrome?")
    assert parsed["intent"]["name"] != "safety_risk"
    assert parsed["safety"]["outcome"] == "unsure"


def test_the_question_in_a_long_message_decides_the_intent(parse_data):
    text = ("Hi there, my daughter is 10 months old and we've just moved to the area from Hull. "
            "My health visitor gave me your leaflet last week and I've been reading it on the bus. "
            "How many sessions are there and how long is each one?")
    parsed = parse_data(text)
    assert parsed["intent"]["name"] == "ask_how_it_runs"
    assert parsed["text"] == "How many sessions are there and how long is each one?"


def test_a_disclosure_in_the_context_of_a_long_question_still_counts(parse_data):
    text = ("Hi, my son is 8 months and we've just moved here. My partner has been hitting me since the move. "
            "How many sessions are there?")
    assert parse_data(text)["safety"]["outcome"] in ("sure", "unsure")  # the reply or the signpost line


def test_each_outcome_is_counted_and_logged_with_its_kind_never_the_text(parse_data, caplog):
    from bot import nlu_safety_net

    before = nlu_safety_net.counts[("sure", "domestic_abuse")]
    with caplog.at_level(logging.INFO, logger="bot.nlu_safety_net"):
        parse_data("my husband strangled me last night, Zofia")
    assert nlu_safety_net.counts[("sure", "domestic_abuse")] == before + 1
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "bot.nlu_safety_net")
    assert "sure (domestic_abuse" in logged and "strangled" not in logged and "Zofia" not in logged
