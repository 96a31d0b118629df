"""`make bench`'s table, from the committed results of its last full run: each figure beside its
baseline, and every target judged."""
from __future__ import annotations

import json

from bench import report
from tests.support import ROOT

RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())


def rows(prefix: str) -> list:
    return [line for line in report.table(RESULTS).splitlines() if line.startswith(prefix)]


def test_every_latency_cell_stands_beside_its_baseline():
    latency = rows("latency ms")
    assert len(latency) == 6  # 2 kinds of turn x 1, 10 and 50 at once
    for line in latency:
        assert line.count(" err ") == 2, line  # ours, then the baseline


def test_throughput_training_and_accuracy_have_their_baselines():
    for prefix in ("throughput", "rasa train s", "held-out intent accuracy", "risk wordings missed"):
        (line,) = rows(prefix)
        assert len([cell for cell in line.split("  ") if cell.strip()]) >= 3, line  # figure, ours, baseline


def test_every_target_of_the_issue_is_judged():
    judged = {t["figure"] for t in report.targets(RESULTS)}
    for figure in ("latency p95, programme question, 10 at once", "latency p95, form step, 10 at once"):
        assert figure in judged
    assert all(isinstance(t["met"], bool) for t in report.targets(RESULTS))


def test_the_safety_layers_cost_stands_beside_the_phrases_alone_and_the_pipeline():
    for prefix in ("safety layers ms", "risk model ms"):
        (line,) = rows(prefix)
        assert line.count(" / ") == 2, line  # ours, then its baseline
    assert "safety layers added per message, p95" in {t["figure"] for t in report.targets(RESULTS)}
