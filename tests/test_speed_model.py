"""The speed levers that work on the loaded model (bot/speed): the classifier's weights laid out for
the product, and the graph run without dask. Each gives exactly what Rasa gives, on the real model,
and each test fails when its lever is removed."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.speed import graph_run, lean_classifier, lean_safety

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "cosp.tar.gz"
BLIND = [line.split("\t")[-1] for name in ("programme.tsv", "off_topic.tsv", "lookalikes.tsv")
         for line in (ROOT / "tests" / "blind" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
TEXTS = ["What is Circle of Security Parenting?", "can dads come", "help with settling at night", "11 weeks",
         "Zofia Example", "ok", "", "🙂🙂", "/start_referral", "I want to end it all", "Cześć, gdzie są grupy?",
         "<b>hi</b>", "why do you need that?", "stop"]

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]


def load_agent() -> Any:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    return Agent.load(str(MODEL))


@pytest.fixture(scope="module")
def stock_and_fast():
    return load_agent(), load_agent()


def parses(agent: Any) -> List[dict]:
    return [asyncio.run(agent.parse_message(text)) for text in TEXTS]


def trackers(agent: Any) -> List[DialogueStateTracker]:
    def one(*events: Any) -> DialogueStateTracker:
        return DialogueStateTracker.from_events("t", [ActionExecuted("action_listen"), *events], agent.domain.slots)

    return [
        one(UserUttered("what is it", {"name": "ask_what_is_cosp", "confidence": 1.0})),
        one(UserUttered("refer me", {"name": "start_referral", "confidence": 1.0})),
        one(UserUttered("hi", {"name": "greet", "confidence": 1.0}), ActionExecuted("utter_greet")),
        one(SlotSet("requested_slot", "caregiver_name"), UserUttered("Zofia", {"name": "inform", "confidence": 0.9})),
        one(UserUttered("help", {"name": "nlu_fallback", "confidence": 0.2})),
    ]


def predictions(agent: Any) -> List[tuple]:
    out = []
    for tracker in trackers(agent):
        p = agent.processor._predict_next_with_tracker(tracker)
        out.append((p.max_confidence_index, p.policy_name, tuple(p.probabilities)))
    return out


def test_the_classifier_weights_are_laid_out_for_the_product_and_score_the_same(stock_and_fast) -> None:
    stock, fast = stock_and_fast
    lean_classifier.install(fast)
    [clf] = [c.clf for c in lean_classifier.components(fast) if hasattr(c, "clf")]
    assert clf.coef_.T.flags["C_CONTIGUOUS"]  # the product reads the weights where they lie, no copy
    assert np.array_equal(clf.coef_, [c.clf for c in lean_classifier.components(stock) if hasattr(c, "clf")][0].coef_)
    assert parses(fast) == parses(stock)  # every probability, bit for bit
    many = [asyncio.run(agent.parse_message(text)) for agent in (stock, fast) for text in BLIND]
    assert many[:len(BLIND)] == many[len(BLIND):] and len(BLIND) > 200


def test_the_graph_runs_without_dask_and_gives_the_same(stock_and_fast, monkeypatch) -> None:
    stock, fast = stock_and_fast
    expected_parses, expected_predictions = parses(stock), predictions(stock)
    graph_run.install(fast)
    import dask

    monkeypatch.setattr(dask, "get", lambda *a, **k: pytest.fail("the graph ran through dask"))
    assert parses(fast) == expected_parses
    assert predictions(fast) == expected_predictions


def test_the_graph_run_still_refuses_an_input_whose_value_names_a_node(stock_and_fast) -> None:
    from rasa.engine.exceptions import GraphRunError

    _, fast = stock_and_fast
    graph_run.install(fast)
    runner = fast.processor.graph_runner
    with pytest.raises(GraphRunError, match="clashes"):
        target = fast.processor.model_metadata.nlu_target
        runner.run(inputs={"__message__": target}, targets=[target])


def test_the_safety_net_scores_without_the_vectorizers_transform_and_gives_the_same(stock_and_fast, monkeypatch) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    stock, fast = stock_and_fast
    expected = parses(stock)
    lean_safety.install(fast)
    monkeypatch.setattr(TfidfVectorizer, "transform", lambda *a, **k: pytest.fail("scored through the vectorizer"))
    assert parses(fast) == expected
