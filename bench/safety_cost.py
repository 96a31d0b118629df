"""What the safety layers (issue 11) add to a turn, each beside the others in the same loop.

Per message (the held-out NLU set, the risk and harmless wordings, and long messages made from
them; never the blind set), interleaved so machine noise hits every variant alike:
- `parse`: Rasa's whole NLU parse with our model (the context: what a turn already spends);
- `phrases`: the phrase list on the whole message (what the safety net cost before);
- `parts`: + every sentence and window of the message;
- `cues`: + the look-alike cues;
- `model`: + the trained risk model (the full detector);
- `model_via_pipeline`: the same, scored through scikit-learn's pipeline (the fast path's ablation);
- `focus`: the question focus (bot/question_focus.py) on its own.
"added" is the full detector plus the focus, minus `phrases` (it ran before too).

python -m bench.safety_cost [--samples N] prints the table and merges its figures into bench/results.json.
"""
from __future__ import annotations

import asyncio
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

from bench.options import BENCH_DIR, ROOT
from bot.question_focus import focus
from safety import Detector, corpus, cues, phrases
from safety.model import RiskModel
from safety.text import normalise, parts

TARGET_MS = 3.0
MODEL = ROOT / "models" / "cosp.tar.gz"


def messages() -> List[str]:
    import yaml

    texts: List[str] = []
    for block in yaml.safe_load((ROOT / "tests" / "nlu" / "test_nlu.yml").read_text())["nlu"]:
        texts += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    data = ROOT / "tests" / "data"
    for name in ("risk_messages.txt", "non_risk_messages.txt"):
        texts += [line.strip() for line in (data / name).read_text().splitlines() if line.strip()]
    long = [" ".join(f"{t}." for t in texts[i : i + 6]) for i in range(0, len(texts) - 6, 6)]  # 6 sentences each
    return texts + long


def _variants(detector: Detector) -> Dict[str, Callable[[str], object]]:
    def phrases_whole(text: str) -> object:
        return phrases.matches(normalise(text))

    def with_parts(text: str) -> object:
        return [phrases.matches(p) for p in parts(text)]

    def with_cues(text: str) -> object:
        return [(phrases.matches(p), cues.cues(p)) for p in parts(text)]

    pipeline = Detector(_PipelineModel(detector.model))
    return {"phrases": phrases_whole, "parts": with_parts, "cues": with_cues, "model": detector.assess,
            "model_via_pipeline": pipeline.assess, "focus": focus}


class _PipelineModel:
    """The risk model scored through scikit-learn's pipeline: the ablation of the fast path."""

    def __init__(self, model: RiskModel) -> None:
        self.scores = model.pipeline_scores


def _ms(seconds: List[float]) -> Dict[str, float]:
    ordered = sorted(seconds)
    return {"median": round(statistics.median(ordered) * 1000, 3),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
            "mean": round(statistics.fmean(ordered) * 1000, 3)}


def run(samples: int = 3) -> Dict:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)
    agent = Agent.load(str(MODEL))
    detector = Detector(RiskModel.train(corpus.load()))
    variants = _variants(detector)
    texts = messages()
    timings: Dict[str, List[float]] = {name: [] for name in ["parse", *variants]}
    loop = asyncio.new_event_loop()
    for _ in range(samples):
        for text in texts:
            started = time.perf_counter()
            loop.run_until_complete(agent.parse_message(text))
            timings["parse"].append(time.perf_counter() - started)
            for name, variant in variants.items():
                started = time.perf_counter()
                variant(text)
                timings[name].append(time.perf_counter() - started)
    loop.close()
    figures = {name: _ms(values) for name, values in timings.items()}
    added = [m + f - p for m, f, p in zip(timings["model"], timings["focus"], timings["phrases"])]
    figures["added"] = _ms(added)
    return {"messages": len(texts), "samples": samples, "ms": figures, "target_ms": TARGET_MS,
            "met": figures["added"]["p95"] < TARGET_MS,
            "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def table(result: Dict) -> str:
    ms = result["ms"]
    rows = [("per message, ms", "median", "p95", "mean")]
    for name in ("parse", "phrases", "parts", "cues", "model", "model_via_pipeline", "focus", "added"):
        rows.append((name, *(f"{ms[name][k]:.3f}" for k in ("median", "p95", "mean"))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    verdict = "MET" if result["met"] else "MISSED"
    return "\n".join(lines + [f"{verdict}: the safety layers add p95 {ms['added']['p95']} ms (target < {TARGET_MS} ms)"])


def main(argv: List[str]) -> int:
    samples = int(argv[argv.index("--samples") + 1]) if "--samples" in argv else 3
    result = run(samples)
    print(table(result))
    path = BENCH_DIR / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["safety_cost"] = result
    if "run" in results:
        from bench import report

        results["targets"] = report.targets(results)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
