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


def test_the_speed_table_gives_ours_as_a_ratio_to_the_peer_and_each_lever_beside_no_levers() -> None:
    from bench import speed

    def cell(rate, p95):
        return {"turns_per_second": rate, "p95": p95, "p50": p95 / 2, "p99": p95, "turns": 100, "errors": 0}

    results = {
        "side_by_side": {"peer": {"questions@10": cell(100.0, 200.0)}, "ours": {"questions@10": cell(150.0, 100.0)},
                         "ours, no levers": {"questions@10": cell(50.0, 400.0)}},
        "ablation": {"gc_freeze": {"ours, no levers": {"form@10": cell(10.0, 900.0)},
                                   "only gc_freeze": {"form@10": cell(12.0, 800.0)}}},
    }
    assert speed.ratios(results) == {"questions@10": {"turns_per_second_ratio": 1.5, "p95_ratio": 0.5}}
    table = speed.table(results)
    assert "questions@10: 1.5× turns/s, p95 0.5×" in table and "form@10: 12.0 vs 10.0 /s (1.2×)" in table


def test_the_peer_build_is_a_valid_plain_project() -> None:
    from rasa.shared.core.domain import Domain

    from bench import peer

    domain = Domain.from_dict(peer._domain())
    assert domain.form_names == ["referral_form"]
    assert all(name.startswith("utter_") for name in domain.user_actions)  # no custom action
    assert "ask_what_is_cosp" in domain.intents and "utter_ask_caregiver_name" in domain.responses
