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


def _coo_parts(matrix: Any) -> tuple:
    return (type(matrix), matrix.shape, matrix.dtype, matrix.row.dtype, matrix.col.dtype, matrix.row.tolist(),
            matrix.col.tolist(), matrix.data.tolist(), matrix.has_canonical_format)


def test_the_featurizers_count_without_the_vectorizers_transform_and_give_the_same(stock_and_fast, monkeypatch) -> None:
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from sklearn.feature_extraction.text import CountVectorizer

    from bot.speed import lean_featurizer

    stock, fast = stock_and_fast
    lean_featurizer.install(fast)
    pairs = [(a, b) for a, b in zip(lean_classifier.components(stock), lean_classifier.components(fast))
             if isinstance(a, CountVectorsFeaturizer)]
    assert len(pairs) == 2  # words and character n-grams
    odd = ["", "a", "the the the", "🙂 🙂", "ÉCOLE école", "x" * 5000, "<b>hi</b> &amp;", "can't won't", "١٢٣ 漢字",
           "\t tab\nnew line", "what what is is cosp cosp"]
    texts = TEXTS + BLIND + odd
    asked = [(attribute, text) for attribute in ("text", "intent", "action_name") for text in texts]
    expected = [[stock_f._create_features(attribute, [text.split()]) for attribute, text in asked] for stock_f, _ in pairs]
    monkeypatch.setattr(CountVectorizer, "transform", lambda *a, **k: pytest.fail("counted through the vectorizer"))
    counted = 0
    for (stock_f, fast_f), want in zip(pairs, expected):
        for (attribute, text), (sequence, sentence) in zip(asked, want):
            got_sequence, got_sentence = fast_f._create_features(attribute, [text.split()])
            for mine, rasas in zip(got_sequence + got_sentence, sequence + sentence):
                assert (mine is None) == (rasas is None), (attribute, text)
                if rasas is not None:
                    assert _coo_parts(mine) == _coo_parts(rasas), (attribute, text)
                    assert lean_featurizer._attributes(mine) == lean_featurizer._attributes(rasas)
                    counted += 1
    assert counted > 2 * len(texts) and lean_featurizer.make_coo is not lean_featurizer.checked  # put together directly
    monkeypatch.undo()
    assert parses(fast) == parses(stock)


def conversation(agent: Any) -> List[Any]:
    """A conversation's events as Rasa adds them: questions, a referral form with an interruption,
    a rewind, and a restart."""
    from rasa.shared.core.events import ActiveLoop, BotUttered, Restarted, SessionStarted, UserUtteranceReverted

    def said(text: str, intent: str) -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 0.9})

    return [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        said("what is it", "ask_what_is_cosp"), ActionExecuted("utter_ask_what_is_cosp"), BotUttered("COSP is"),
        ActionExecuted("action_listen"), said("refer me", "start_referral"), ActionExecuted("referral_form"),
        ActiveLoop("referral_form"), SlotSet("requested_slot", "referrer_type"), ActionExecuted("action_listen"),
        said("for me", "inform"), ActionExecuted("referral_form"), SlotSet("referrer_type", "self"),
        SlotSet("requested_slot", "caregiver_name"), ActionExecuted("action_listen"),
        said("why do you need that", "why_ask"), ActionExecuted("utter_why_ask"), ActionExecuted("referral_form"),
        ActionExecuted("action_listen"), said("oops", "inform"), UserUtteranceReverted(),
        said("Zofia", "inform"), ActionExecuted("referral_form"), SlotSet("caregiver_name", "Zofia"),
        ActionExecuted("action_listen"), said("stop", "stop"), ActionExecuted("action_restart"), Restarted(),
        ActionExecuted("action_listen"), said("hi", "greet"), ActionExecuted("utter_greet"),
    ]


def _tracker_state(tracker: DialogueStateTracker) -> dict:
    import dataclasses

    from bot.speed import tracker_copy

    state = {key: value for key, value in vars(tracker).items() if key in tracker_copy.FIELDS}
    assert state.keys() == tracker_copy.FIELDS
    state["events"] = [id(event) for event in tracker.events]  # the very same events, in order
    state["slots"] = {name: (type(slot), vars(slot)) for name, slot in tracker.slots.items()}
    state["active_loop"] = dataclasses.asdict(tracker.active_loop) if tracker.active_loop else None
    return state


def test_a_tracker_is_copied_and_a_forms_tracker_made_in_the_state_rasas_replay_gives(stock_and_fast, monkeypatch) -> None:
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.events import ActiveLoop

    from bot.speed import tracker_copy

    _, fast = stock_and_fast
    domain = fast.domain
    form = FormAction("referral_form", None)
    replayed: List[Any] = []
    stock_update = DialogueStateTracker.update
    monkeypatch.setattr(DialogueStateTracker, "update", lambda self, e, d=None: replayed.append(e) or stock_update(self, e, d))
    events = conversation(fast)
    events[9:9] = [ActiveLoop("referral_form")]  # the form started twice over, and interrupted
    tracker = DialogueStateTracker("copied", domain.slots)
    tracker.model_id = "model-1"
    extra = [SlotSet("caregiver_name", "Zofia")]
    fast_paths = 0
    try:
        for step, event in enumerate(events):
            stock_update(tracker, event)
            tracker_copy.uninstall()
            stock_copy, stock_temporary = tracker.copy(), form._temporary_tracker(tracker, list(extra), domain)
            tracker_copy.install()
            replayed.clear()
            mine = tracker.copy()
            assert not replayed, f"after event {step}: the copy replayed the events"
            assert _tracker_state(mine) == _tracker_state(stock_copy), f"after event {step} ({event})"
            temporary = form._temporary_tracker(tracker, list(extra), domain)
            restarted = any(type(e).__name__ == "Restarted" for e in tracker.events)
            if not restarted:
                assert len(replayed) == 3 and replayed[-1].as_dict() == extra[0].as_dict()  # only the new events
                fast_paths += 1
            mine_state, stock_state = _tracker_state(temporary), _tracker_state(stock_temporary)
            for state in (mine_state, stock_state):  # the two new events are made afresh by each
                state["events"] = state["events"][:-3]
            stock_new, mine_new = stock_temporary.events, temporary.events
            assert [e.as_dict() | {"timestamp": 0} for e in list(mine_new)[-3:]] == [
                e.as_dict() | {"timestamp": 0} for e in list(stock_new)[-3:]]
            assert mine_state == stock_state, f"form tracker after event {step} ({event})"
            mine.slots["caregiver_name"].value = "changed"  # a copy is its own
            mine.update(ActionExecuted("action_listen"))
            if mine.active_loop:
                mine.active_loop.rejected = not tracker.active_loop.rejected
            assert _tracker_state(tracker) != _tracker_state(mine) and tracker.get_slot("caregiver_name") != "changed"
    finally:
        tracker_copy.uninstall()
    assert fast_paths > 20


def test_rule_states_are_kept_per_conversation_and_equal_rasas_at_every_step(stock_and_fast, monkeypatch) -> None:
    from rasa.shared.core.domain import Domain

    from bot.speed import rule_states

    stock, fast = stock_and_fast
    rule_states.install(fast)
    [featurizer] = rule_states.featurizers(fast)
    [stock_policy, fast_policy] = [c for agent in (stock, fast) for c in lean_classifier.components(agent)
                                   if type(c).__name__ == "RulePolicy"]
    domain = fast.domain
    built: List[int] = []
    stock_get = Domain.get_active_state
    monkeypatch.setattr(Domain, "get_active_state", lambda self, *a, **k: built.append(1) or stock_get(self, *a, **k))
    rewinds = ("UserUtteranceReverted", "Restarted", "SessionStarted")
    tracker = DialogueStateTracker("kept", domain.slots)
    for step, event in enumerate(conversation(fast)):
        tracker.update(event)  # one tracker growing, as in a turn
        built.clear()
        mine = featurizer._create_states(tracker, domain)
        if step and not isinstance(event, ActionExecuted) and type(event).__name__ not in rewinds:
            assert len(built) == 1, f"after event {step}: {len(built)} states built, not only the latest"
        assert mine == tracker.past_states(domain), f"after event {step} ({event})"
        built.clear()
        assert featurizer._create_states(tracker, domain) == mine and not built  # asked again: nothing rebuilt
        for _ in range(2):  # the same prediction, and the states kept are not edited by it
            a = stock_policy.predict_action_probabilities(tracker, domain)
            b = fast_policy.predict_action_probabilities(tracker, domain)
            assert (a.probabilities, a.events, a.hide_rule_turn) == (b.probabilities, b.events, b.hide_rule_turn)
    again = DialogueStateTracker.from_events("kept", conversation(fast)[:8], domain.slots)  # read afresh: new objects
    assert featurizer._create_states(again, domain) == again.past_states(domain)


def test_rules_found_are_kept_by_what_the_rules_read_and_equal_rasas(stock_and_fast) -> None:
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH

    from bot.speed import rule_keys

    stock, fast = stock_and_fast
    rule_keys.install(fast)
    [stock_policy], [fast_policy] = rule_keys.policies(stock), rule_keys.policies(fast)
    kept = fast_policy._get_possible_keys
    assert isinstance(kept, rule_keys.KeptRuleKeys)
    looked_up: List[int] = []
    stock_way = kept.stock
    kept.stock = lambda lookup, states: looked_up.append(1) or stock_way(lookup, states)
    tracker = DialogueStateTracker("rules", fast.domain.slots)
    checked = 0
    for event in conversation(fast) + conversation(fast):  # the second time round, every decision is kept
        tracker.update(event)
        for use_text in (True, False):
            states = stock_policy._prediction_states(tracker, stock.domain, use_text)
            for part in (states, states[-1:], states[-2:]):  # also fewer states than the longest rule
                for name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH):
                    expected = stock_policy._get_possible_keys(stock_policy.lookup[name], part)
                    assert kept(fast_policy.lookup[name], part) == expected
                    checked += 1
    assert checked > 500 and 0 < len(looked_up) < checked / 4  # Rasa's way only for values not seen before
    for text in ("what is it", "refer me", "hi"):  # what a parent typed is never part of a key
        assert not any(text in repr(key) for key in kept._found)
