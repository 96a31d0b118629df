"""The side-by-side table, the targets met or missed, and the latency picture."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

SCENARIO_LABELS = {"programme_question": "programme question", "form_step": "form step"}
P95_TARGETS_MS = {("programme_question", "10"): 150, ("form_step", "10"): 300}
RASA_RSS_TARGET_MB = 1536
TRAINING_TARGET_SECONDS = 300
SAFETY_TARGET_MS = 3.0  # issue 11: what the safety layers may add to a turn
PROD_RPS_BEFORE = 31.2  # issue 13: 2 Rasa servers, bench/results.json of 2026-12-01 (commit 9d2dc45)
PROD_RPS_TARGET = 3 * PROD_RPS_BEFORE


def _get(data: Dict, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:.3f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{value}{unit}"


def _ms_cell(cell: Optional[Dict]) -> str:
    return f"{_fmt(cell['median'])} / {_fmt(cell['p95'])}" if cell else "n/a"


def _latency(cell: Optional[Dict]) -> str:
    if not cell:
        return "n/a"
    return f"{_fmt(cell['p50'])} / {_fmt(cell['p95'])} / {_fmt(cell['p99'])}  err {cell['errors']}"


def targets(results: Dict) -> List[Dict]:
    """Each target: the figure, its value, the limit and whether it was met (None: not measured)."""
    out: List[Dict] = []

    def add(figure: str, value: Any, target: str, met: Optional[bool]) -> None:
        out.append({"figure": figure, "value": value, "target": target, "met": met})

    for (scenario, concurrency), limit in P95_TARGETS_MS.items():
        p95 = _get(results, "latency", "ours", scenario, concurrency, "p95")
        add(f"latency p95, {SCENARIO_LABELS[scenario]}, {concurrency} at once", p95, f"< {limit} ms",
            None if p95 is None else p95 < limit)
    for scenario in SCENARIO_LABELS:
        errors = _get(results, "latency", "ours", scenario, "50", "errors")
        add(f"errors, {SCENARIO_LABELS[scenario]}, 50 at once", errors, "0", None if errors is None else errors == 0)
    for label, run in (results.get("throughput") or {}).items():
        add(f"throughput held without errors, {label}", run["failures"], "0 failures", run["failures"] == 0)
    for label, processes in (results.get("memory_mb") or {}).items():
        if label == "baseline":
            continue
        for name, mb in processes.items():
            if name.startswith("rasa"):
                add(f"RSS of {name} ({label}) after load", mb, f"< {RASA_RSS_TARGET_MB} MB", mb < RASA_RSS_TARGET_MB)
    added = _get(results, "safety_cost", "ms", "added", "p95")
    add("safety layers added per message, p95", added, f"< {SAFETY_TARGET_MS} ms",
        None if added is None else added < SAFETY_TARGET_MS)
    two = _get(results, "throughput", "2 replicas", "rps")
    add(f"throughput, 2 replicas (issue 13: 3x {PROD_RPS_BEFORE} turns/s before the levers)", two,
        f">= {PROD_RPS_TARGET:.1f} turns/s", None if two is None else two >= PROD_RPS_TARGET)
    seconds = _get(results, "training", "ours", "seconds")
    add("rasa train, our config", seconds, f"< {TRAINING_TARGET_SECONDS} s",
        None if seconds is None else seconds < TRAINING_TARGET_SECONDS)
    return out


def table(results: Dict) -> str:
    rows: List[Sequence[str]] = [("figure", "ours", "baseline", "target")]
    lat = results.get("latency") or {}
    for scenario, label in SCENARIO_LABELS.items():
        for concurrency in sorted(_get(lat, "ours", scenario) or {}, key=int):
            target = P95_TARGETS_MS.get((scenario, concurrency))
            target_text = f"p95 < {target}" if target else ("no errors" if concurrency == "50" else "")
            rows.append((f"latency ms p50/p95/p99, {label}, {concurrency} at once",
                         _latency(_get(lat, "ours", scenario, concurrency)),
                         _latency(_get(lat, "baseline", scenario, concurrency)), target_text))
    tp = results.get("throughput") or {}
    one, two = tp.get("1 replica"), tp.get("2 replicas")

    def tp_text(run: Optional[Dict]) -> str:
        if not run:
            return "n/a"
        return (f"{_fmt(run['rps'])} turns/s, fail {run['failures']}, p95 {_fmt(run['p95_ms'])} ms, "
                f"CPU Rasa {_fmt(run['rasa_cpu_percent_of_one_core'])}% machine {_fmt(run['machine_cpu_percent'])}%")

    users = (one or two or {}).get("users")
    rows.append((f"throughput, 2 replicas (base: 1), {users} users", tp_text(two), tp_text(one), "no failures"))
    off = tp.get("2 replicas, no levers")
    if off:
        rows.append(("speed levers, 2 replicas (base: the same, levers off)", tp_text(two), tp_text(off),
                     f">= {PROD_RPS_TARGET:.1f} turns/s"))
    mem = results.get("memory_mb") or {}
    ours_mem = mem.get("1 replica") or {}
    base_mem = mem.get("baseline") or {}
    for name, base_name in (("rasa-1", "rasa-1"), ("actions-1", "null-actions"), ("nginx", "nginx"),
                            ("worker", "worker")):
        rows.append((f"RSS MB after load, {name} (base: {base_name})", _fmt(ours_mem.get(name)),
                     _fmt(base_mem.get(base_name)), f"< {RASA_RSS_TARGET_MB}" if name == "rasa-1" else ""))
    for name, mb in (mem.get("2 replicas") or {}).items():
        rows.append((f"RSS MB after load, 2-replica {name}", _fmt(mb), "", f"< {RASA_RSS_TARGET_MB}" if name.startswith("rasa") else ""))
    start = results.get("startup_seconds") or {}
    rows.append(("start-up s, Rasa server (launch to health 200)", _fmt(_get(start, "ours", "rasa")),
                 _fmt(_get(start, "baseline", "rasa")), ""))
    rows.append(("start-up s, action server (base: null server)", _fmt(_get(start, "ours", "actions")),
                 _fmt(_get(start, "baseline", "actions")), ""))
    train = results.get("training") or {}
    init_note = _get(train, "rasa_init", "note")
    rows.append(("rasa train s (base: rasa init pipeline)", _fmt(_get(train, "ours", "seconds")),
                 _fmt(_get(train, "rasa_init", "seconds")) + (f" ({init_note})" if init_note else ""),
                 f"< {TRAINING_TARGET_SECONDS}"))
    rows.append(("rasa train peak RSS MB", _fmt(_get(train, "ours", "peak_rss_mb")),
                 _fmt(_get(train, "rasa_init", "peak_rss_mb")), ""))
    nlu = results.get("nlu") or {}
    for key, label in (("intent_accuracy", "held-out intent accuracy"), ("answer_accuracy", "held-out answer accuracy"),
                       ("risk_wordings_missed", "risk wordings missed"), ("false_safety_alarms", "false safety alarms")):
        rows.append((label, _fmt(_get(nlu, "ours", key)),
                     _fmt(_get(nlu, "rasa_init", key)) + (" (quick)" if init_note else ""), ""))
    cost = _get(results, "safety_cost", "ms") or {}
    if cost:
        rows.append(("safety layers ms p50/p95 (base: phrases alone)", _ms_cell(cost.get("added")),
                     _ms_cell(cost.get("phrases")), f"p95 < {SAFETY_TARGET_MS}"))
        rows.append(("risk model ms p50/p95 (base: via sklearn pipeline)", _ms_cell(cost.get("model")),
                     _ms_cell(cost.get("model_via_pipeline")), ""))
        rows.append(("NLU parse ms p50/p95, whole turn's NLU (context)", _ms_cell(cost.get("parse")), "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    verdicts = [f"{'MET   ' if t['met'] else 'MISSED' if t['met'] is False else 'N/A   '} {t['figure']}: "
                f"{_fmt(t['value'])} (target {t['target']})" for t in results.get("targets", [])]
    return "\n".join(lines + ["", "Targets:"] + ["  " + v for v in verdicts])


def latency_png(results: Dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat = results.get("latency") or {}
    fig, axes = plt.subplots(1, len(SCENARIO_LABELS), figsize=(11, 4.5))
    for ax, (scenario, label) in zip(axes, SCENARIO_LABELS.items()):
        levels = sorted(_get(lat, "ours", scenario) or {}, key=int)
        for offset, system in ((-0.2, "ours"), (0.2, "baseline")):
            cells = [_get(lat, system, scenario, c) or {} for c in levels]
            xs = [i + offset for i in range(len(levels))]
            ax.bar(xs, [c.get("p95") or 0 for c in cells], width=0.38,
                   label=f"{system} p95" if system == "ours" else "no custom actions p95")
            ax.scatter(xs, [c.get("p50") or 0 for c in cells], color="black", marker="_", s=200,
                       label="p50" if system == "ours" else None, zorder=3)
        for (s, c), limit in P95_TARGETS_MS.items():
            if s == scenario and c in levels:
                ax.axhline(limit, color="red", linestyle="--", linewidth=1, label=f"target p95 at {c}")
        ax.set_xticks(range(len(levels)), [f"{c} at once" for c in levels])
        ax.set_ylabel("ms per turn")
        ax.set_title(label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
