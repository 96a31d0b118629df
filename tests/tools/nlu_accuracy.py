"""Evaluates the trained model on the held-out test set and the risk wordings; exits 1 when
intent or answer accuracy is under 0.9, or any risk message misses the safety reply.

Answer accuracy: the reply to the predicted intent states the facts the true topic must state
(the phrases of docs/content.md), so two topics that share an answer are not counted as wrong.
"""
from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 0.9

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
    "ask_how_to_refer": ["01472 252570", "navigo.growingwelltogether@nhs.net"],
    "ask_find_out_more": ["Circle of Security International"],
    "ask_struggling_to_bond": ["isn't always easy"],
    "ask_talk_to_person": ["01472 252570"],
    "ask_unknown_detail": ["01472 252570"],
    "safety_risk": ["999", "111"],
}
# The reply each intent gets (outside a referral).
REPLY_OF = {"safety_risk": "utter_safety", "nlu_fallback": "utter_default", "start_referral": "utter_referral_intro"}


def load_examples(path: Path) -> List[Tuple[str, str]]:
    data = yaml.safe_load(path.read_text())
    pairs = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((line[2:].strip(), block["intent"]))
    return pairs


def reply_text(domain: dict, intent: str) -> str:
    name = REPLY_OF.get(intent, f"utter_{intent}")
    return " ".join(v.get("text", "") for v in domain["responses"].get(name, []))


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
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    examples = load_examples(ROOT / "tests" / "nlu" / "test_nlu.yml")
    risks = [l.strip() for l in (ROOT / "tests/data/risk_messages.txt").read_text().splitlines() if l.strip()]
    safe = [l.strip() for l in (ROOT / "tests/data/non_risk_messages.txt").read_text().splitlines() if l.strip()]
    texts = [t for t, _ in examples] + risks + safe
    predicted = asyncio.run(classify(texts))
    got_examples, got_risks, got_safe = predicted[: len(examples)], predicted[len(examples): len(examples) + len(risks)], predicted[len(examples) + len(risks):]

    intent_right = answer_right = 0
    wrong: Counter = Counter()
    for (text, truth), guess in zip(examples, got_examples):
        intent_right += guess == truth
        phrases = MUST_SAY.get(truth)
        if phrases:
            reply = reply_text(domain, guess).lower()
            ok = all(p.lower() in reply for p in phrases)
        else:
            ok = guess == truth
        answer_right += ok
        if not ok:
            wrong[(truth, guess)] += 1
            print(f"  wrong answer: {text!r}: expected {truth}, got {guess}")
    missed = [t for t, g in zip(risks, got_risks) if g != "safety_risk"]
    false_alarms = [t for t, g in zip(safe, got_safe) if g == "safety_risk"]
    n = len(examples)
    result = {
        "examples": n,
        "intent_accuracy": round(intent_right / n, 4),
        "answer_accuracy": round(answer_right / n, 4),
        "risk_messages": len(risks),
        "risk_missed": missed,
        "non_risk_messages": len(safe),
        "false_alarms": false_alarms,
        "most_confused": [f"{t} -> {g}: {c}" for (t, g), c in wrong.most_common(10)],
    }
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "nlu-accuracy.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    failed = result["intent_accuracy"] < THRESHOLD or result["answer_accuracy"] < THRESHOLD or missed
    if failed:
        print(f"FAILED: intent and answer accuracy must be at least {THRESHOLD} and no risk message may be missed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
