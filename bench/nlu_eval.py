"""NLU accuracy of a model on the held-out set (tests/nlu/test_nlu.yml), with tests/tools/nlu_accuracy's
examples, answer phrases and risk wordings; and a picture of its intent confusion matrix.

Classifying loads Rasa and TensorFlow, so it runs in its own process:
python -m bench.nlu_eval MODEL OUT.json  (writes every prediction)
"""
from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Dict, List


from bench.options import ROOT
from bot.service_responses import domain_responses
from tests.tools.nlu_accuracy import FALLBACK, answered, load_examples

TEST_SET = ROOT / "tests" / "nlu" / "test_nlu.yml"
RISKS = ROOT / "tests" / "data" / "risk_messages.txt"
NON_RISKS = ROOT / "tests" / "data" / "non_risk_messages.txt"


def _lines(path: Path) -> List[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


async def _classify(model: str, texts: List[str]) -> List[str]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs each message's text at DEBUG
    agent = Agent.load(model)
    return [(await agent.parse_message(text))["intent"]["name"] for text in texts]


def predictions(model: Path) -> Dict[str, List]:
    """Runs this module on `model` in a child process; the test set's pairs and the guesses."""
    out = model.with_suffix(".predictions.json")
    subprocess.run([sys.executable, "-m", "bench.nlu_eval", str(model), str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def scores(predicted: Dict[str, List]) -> Dict:
    responses = domain_responses()
    pairs = predicted["examples"]
    intent_right = answer_right = 0
    for (_, truth), guess in zip(pairs, predicted["guesses"]):
        intent_right += guess == truth and guess != FALLBACK
        answer_right += answered(responses, truth, guess)  # as the NLU gate counts it: a fallback never is
    n = len(pairs)
    return {
        "examples": n,
        "intent_accuracy": round(intent_right / n, 4),
        "answer_accuracy": round(answer_right / n, 4),
        "risk_wordings_missed": sum(g != "safety_risk" for g in predicted["risk_guesses"]),
        "risk_wordings": len(predicted["risk_guesses"]),
        "false_safety_alarms": sum(g == "safety_risk" for g in predicted["non_risk_guesses"]),
        "non_risk_messages": len(predicted["non_risk_guesses"]),
    }


def confusion_png(predicted: Dict[str, List], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truths = [truth for _, truth in predicted["examples"]]
    guesses = predicted["guesses"]
    labels = sorted(set(truths) | set(guesses))
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for truth, guess in zip(truths, guesses):
        counts[index[truth]][index[guess]] += 1
    size = max(8, len(labels) * 0.32)
    fig, ax = plt.subplots(figsize=(size + 2, size))
    image = ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, count, ha="center", va="center", fontsize=6,
                        color="white" if count > max(map(max, counts)) / 2 else ("red" if i != j else "black"))
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(model: str, out: str) -> None:
    examples = load_examples(TEST_SET)
    risks, non_risks = _lines(RISKS), _lines(NON_RISKS)
    texts = [text for text, _ in examples] + risks + non_risks
    guesses = asyncio.run(_classify(model, texts))
    first, second = len(examples), len(examples) + len(risks)
    Path(out).write_text(json.dumps({
        "examples": examples, "guesses": guesses[:first],
        "risk_guesses": guesses[first:second], "non_risk_guesses": guesses[second:]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
