"""What bounds a turn (issue 13): py-spy samples the Rasa server and the action server of the `make run`
shape while the speed bench's load runs (programme questions, then form steps, 10 at once), and
prints where each process spent its samples: by stage of a turn, then the functions with the most
samples of their own. Writes bench/profile.json. `make profile`; py-spy is installed into the venv
the first time (it is a profiling tool, not a dependency of the assistant)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, List, Tuple

from bench.options import ROOT
from bench.progress import say
from bench.speed import _action_server, _cell, ours
from tests.environment import process_env

PY_SPY = Path(sys.executable).parent / "py-spy"
IDLE = "serve (sanic/server/runners.py"  # the event loop waiting: uvloop runs inside asyncio.runners
SECONDS = int(os.environ.get("PROFILE_SECONDS", "20"))

# Where a sample's stack says the turn was, by the frames on it (file:function as py-spy names them);
# the first stage that matches wins, so each sample counts once. Sub-stages split the parse.
STAGES: List[Tuple[str, Tuple[str, ...]]] = [
    ("conversation lock", ("rasa/core/lock_store.py", "bot/lock_store.py")),
    ("tracker read", ("get_tracker (rasa/core/processor.py",)),
    ("tracker save", ("save_tracker (rasa/core/processor.py",)),
    ("NLU: intent classifier", ("logistic_regression_classifier.py",)),
    ("NLU: featurizers", ("count_vectors_featurizer.py", "whitespace_tokenizer.py")),
    ("NLU: safety net", ("nlu_safety_net.py",)),
    ("NLU: the rest", ("_parse_message_with_graph",)),
    ("policy prediction", ("_predict_next_with_tracker",)),
    ("actions (remote calls, replies)", ("_run_action (rasa/core/processor.py",)),
    ("rest of Rasa's turn", ("handle_message (rasa/core/processor.py",)),
]
OTHER = "HTTP, channel, event loop"


def _stage(stack: List[str]) -> str:
    for stage, marks in STAGES:
        if any(mark in frame for frame in stack for mark in marks):
            return stage
    return OTHER


def _read(raw: Path) -> List[Tuple[List[str], int]]:
    out = []
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def summarise(raw: Path) -> dict:
    samples = [(stack, n) for stack, n in _read(raw) if not stack[-1].startswith(IDLE)]
    total = sum(n for _, n in samples) or 1
    stages: Counter = Counter({name: 0 for name, _ in STAGES})
    own: Counter = Counter()
    for stack, n in samples:
        stages[_stage(stack)] += n
        own[stack[-1]] += n
    return {"busy_samples": total,
            "stages_percent": {k: round(100 * v / total, 1) for k, v in stages.items()},
            "own_time_top": [[name, round(100 * n / total, 1)] for name, n in own.most_common(15)]}


def _spy(pid: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "--rate", "100",
                             "--duration", str(SECONDS + 5), "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _load(url: str, kind: str, seconds: int) -> int:
    turns, ends = 0, time.monotonic() + seconds
    while time.monotonic() < ends:
        turns += asyncio.run(_cell(url, kind, 10, 10))["turns"]
    return turns


def main() -> int:
    if not PY_SPY.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy==0.4.3"], check=True)
    results: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cosp-profile-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        action_url = stack.enter_context(_action_server(tmp, process_env()))
        server = stack.enter_context(ours("ours", os.environ.get("SPEED_LEVERS", "all"), action_url, tmp))
        action_pid = int(subprocess.run(["pgrep", "-f", "rasa run actions"], capture_output=True, text=True)
                         .stdout.split()[0])
        asyncio.run(_cell(server.url, "form", 2, 2))  # warm-up
        for kind in ("questions", "form"):
            raw = ROOT / "var" / "profile"
            raw.mkdir(parents=True, exist_ok=True)
            spies = {name: (_spy(pid, raw / f"{kind}-{name}.txt"), raw / f"{kind}-{name}.txt")
                     for name, pid in (("rasa", server.procs[0].pid), ("actions", action_pid))}
            time.sleep(1)
            turns = _load(server.url, kind, SECONDS)
            for spy, _ in spies.values():
                spy.wait(timeout=60)
            results[kind] = {"turns": turns, "turns_per_second": round(turns / SECONDS, 1),
                             **{name: summarise(path) for name, (_, path) in spies.items()}}
            say(f"profile: {kind}: {results[kind]['turns_per_second']} turns/s")
    (ROOT / "bench" / "profile.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
