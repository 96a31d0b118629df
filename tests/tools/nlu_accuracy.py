"""The NLU gate: the trained model on the held-out test set and the risk wordings. Exits 1, naming
every reason, when
- intent or answer accuracy is under THRESHOLD;
- any intent in FLOORS is recognised in fewer than its floor of its examples (one overall figure
  hides an intent lost altogether: every "stop" misread still leaves 0.97);
- any risk message misses the safety reply, or any harmless message gets it (a false alarm).

Answer accuracy: the reply to the predicted intent states the facts the true topic must state
(the phrases of docs/content.md), so two topics that share an answer are not counted as wrong. The
fallback reply is never a right answer, even though it gives the phone number and email.
`judge` decides from the predictions alone, so the gate itself is tested (tests/test_nlu_gate.py).
"""
from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

import yaml

from bot import service_profile
from bot.service_responses import domain_responses

ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 0.9
TEAM = service_profile.current()
SAFETY = "safety_risk"
FALLBACK = "nlu_fallback"
# Share of each intent's held-out examples that must be recognised as it. The safety intent's floor
# applies to tests/data/risk_messages.txt (the held-out set has no safety block), where it is every one.
FLOORS: Dict[str, float] = {"stop": 0.8, "why_ask": 0.8, "start_referral": 0.8, SAFETY: 1.0}

# Phrases each topic's answer must contain (docs/content.md, "in the answer").
MUST_SAY: Dict[str, List[str]] = {
    "ask_what_is_cosp": ["attachment", "relationship"],
    "ask_why_it_helps": ["empathy", "self-esteem"],
    "ask_key_messages": ["hard-wired", "hidden", "parented"],
    "ask_hidden_needs": ["hidden"],
    "ask_own_upbringing": ["parented"],
    "ask_attachment": ["secure", "attachment"],
    "ask_who_is_it_for": ["up to 2"],
    "ask_which_caregivers": ["foster", "grandparent"],
    "ask_inclusion": ["dads", "LGBTQ+"],
    "ask_help_before_group": ["additional sessions", "before"],
    "ask_how_it_runs": ["6-8", "2 hours"],
    "ask_session_content": ["video", "handouts", "discussion"],
    "ask_where": ["family hub"],
    "ask_atmosphere": ["non-judgmental"],
    "ask_meeting_others": ["other parents"],
    "ask_who_runs_it": ["facilitator"],
    "ask_how_to_refer": [TEAM.phone, TEAM.email],
    "ask_find_out_more": ["Circle of Security International"],
    "ask_struggling_to_bond": ["isn't always easy"],
    "ask_talk_to_person": [TEAM.phone],
    "ask_unknown_detail": [TEAM.phone],
    SAFETY: ["999", "111"],
}
# The next group's date and venue come only from action_answer_group_dates, which answers these two
# intents (with the profile's groups, or the team's contacts when none is coming up).
GROUP_DATES_ANSWER = {"ask_next_group", "ask_where"}
# The reply each intent gets (outside a referral).
REPLY_OF = {SAFETY: "utter_safety", FALLBACK: "utter_default", "start_referral": "utter_referral_intro"}


@dataclass
class Verdict:
    result: Dict[str, object]
    failures: List[str] = field(default_factory=list)
    wrong_answers: List[Tuple[str, str, str]] = field(default_factory=list)  # (text, truth, guess)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_examples(path: Path) -> List[Tuple[str, str]]:
    data = yaml.safe_load(path.read_text())
    pairs = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((line[2:].strip(), block["intent"]))
    return pairs


def load_lines(path: Path) -> List[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def reply_text(responses: Mapping[str, list], intent: str) -> str:
    name = REPLY_OF.get(intent, f"utter_{intent}")
    return " ".join(v.get("text", "") for v in responses.get(name, []))


def answered(responses: Mapping[str, list], truth: str, guess: str) -> bool:
    """Whether a parent asking about `truth` got its facts from the reply to `guess`."""
    if guess == FALLBACK:
        return False
    if truth == "ask_next_group":
        return guess in GROUP_DATES_ANSWER
    phrases = MUST_SAY.get(truth)
    if not phrases:
        return guess == truth
    reply = reply_text(responses, guess).lower()
    return all(p.lower() in reply for p in phrases)


def judge(
    examples: Sequence[Tuple[str, str]],
    predicted: Sequence[str],
    risks: Sequence[str],
    predicted_risks: Sequence[str],
    harmless: Sequence[str],
    predicted_harmless: Sequence[str],
    responses: Mapping[str, list],
    floors: Mapping[str, float] = FLOORS,
    threshold: float = THRESHOLD,
) -> Verdict:
    assert len(examples) == len(predicted) and len(risks) == len(predicted_risks)
    assert len(harmless) == len(predicted_harmless)
    intent_right = answer_right = 0
    wrong: Counter = Counter()
    per_intent: Dict[str, List[int]] = {}  # intent: [recognised, examples]
    verdict = Verdict(result={})
    for (text, truth), guess in zip(examples, predicted):
        counts = per_intent.setdefault(truth, [0, 0])
        counts[1] += 1
        if guess == truth and guess != FALLBACK:
            intent_right += 1
            counts[0] += 1
        if answered(responses, truth, guess):
            answer_right += 1
        else:
            wrong[(truth, guess)] += 1
            verdict.wrong_answers.append((text, truth, guess))
    missed = [text for text, guess in zip(risks, predicted_risks) if guess != SAFETY]
    false_alarms = [text for text, guess in zip(harmless, predicted_harmless) if guess == SAFETY]
    if risks:
        per_intent[SAFETY] = [len(risks) - len(missed), len(risks)]
    recall = {intent: round(right / total, 4) for intent, (right, total) in sorted(per_intent.items())}
    n = len(examples)
    verdict.result = {
        "examples": n,
        "intent_accuracy": round(intent_right / n, 4) if n else 0.0,
        "answer_accuracy": round(answer_right / n, 4) if n else 0.0,
        "recall_by_intent": recall,
        "floors": dict(floors),
        "risk_messages": len(risks),
        "risk_missed": missed,
        "non_risk_messages": len(harmless),
        "false_alarms": false_alarms,
        # Held-out questions of other intents that got the safety reply: reported, not failed on, as
        # some are ambiguous ("i don't want to carry on", labelled stop); each counts against its intent.
        "safety_reply_to_other_intents": [text for (text, truth), guess in zip(examples, predicted)
                                          if guess == SAFETY and truth != SAFETY],
        "most_confused": [f"{t} -> {g}: {c}" for (t, g), c in wrong.most_common(10)],
    }
    for name in ("intent_accuracy", "answer_accuracy"):
        if verdict.result[name] < threshold:
            verdict.failures.append(f"{name} {verdict.result[name]} is under {threshold}")
    for intent, floor in floors.items():
        if intent not in recall:
            verdict.failures.append(f"{intent}: no examples to check its floor of {floor} against")
        elif recall[intent] < floor:
            verdict.failures.append(f"{intent}: recognised in {recall[intent]} of its examples, under its floor of {floor}")
    if missed:
        verdict.failures.append(f"{len(missed)} risk message(s) missed the safety reply")
    if false_alarms:
        verdict.failures.append(f"{len(false_alarms)} harmless message(s) got the safety reply")
    return verdict


async def classify(texts: List[str]) -> List[str]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs each message's text at DEBUG

    agent = Agent.load(str(ROOT / "models" / "cosp.tar.gz"))
    intents = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intents.append(parsed["intent"]["name"])
    return intents


def main() -> int:
    responses = domain_responses()
    examples = load_examples(ROOT / "tests" / "nlu" / "test_nlu.yml")
    risks = load_lines(ROOT / "tests" / "data" / "risk_messages.txt")
    harmless = load_lines(ROOT / "tests" / "data" / "non_risk_messages.txt")
    predicted = asyncio.run(classify([t for t, _ in examples] + risks + harmless))
    split = [len(examples), len(examples) + len(risks)]
    verdict = judge(examples, predicted[: split[0]], risks, predicted[split[0]: split[1]], harmless,
                    predicted[split[1]:], responses)
    for text, truth, guess in verdict.wrong_answers:
        print(f"  wrong answer: {text!r}: expected {truth}, got {guess}")
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "nlu-accuracy.json").write_text(json.dumps({**verdict.result, "failures": verdict.failures}, indent=2))
    print(json.dumps(verdict.result, indent=2))
    for failure in verdict.failures:
        print(f"FAILED: {failure}")
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
