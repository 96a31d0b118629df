"""Turns per second held for BENCH_HOLD_SECONDS, with locust (headless) against one URL."""
from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, List

import psutil

from bench.options import BENCH_DIR, ROOT, Options
from bench.progress import say

LOCUST = Path(sys.executable).parent / "locust"


class CpuSampler(threading.Thread):
    """Once a second: the machine's CPU use (% of all cores), the Rasa servers' and locust's (% of one core)."""

    def __init__(self, rasa_pids: Dict[str, int], locust_pid: int) -> None:
        super().__init__(daemon=True)
        self.servers = [psutil.Process(pid) for pid in rasa_pids.values()]
        self.locust = psutil.Process(locust_pid)
        self.samples: Dict[str, List[float]] = {"machine_cpu_percent": [], "rasa_cpu_percent_of_one_core": [],
                                                "locust_cpu_percent_of_one_core": []}
        self.done = threading.Event()

    def run(self) -> None:
        psutil.cpu_percent()
        for proc in self.servers + [self.locust]:
            proc.cpu_percent()
        while not self.done.wait(1.0):
            try:
                self.samples["machine_cpu_percent"].append(psutil.cpu_percent())
                self.samples["rasa_cpu_percent_of_one_core"].append(sum(p.cpu_percent() for p in self.servers))
                self.samples["locust_cpu_percent_of_one_core"].append(self.locust.cpu_percent())
            except psutil.NoSuchProcess:
                return

    def means(self) -> Dict[str, float]:
        return {name: round(sum(v) / len(v), 1) if v else 0.0 for name, v in self.samples.items()}


def _aggregated(stats_csv: Path) -> Dict[str, float]:
    with stats_csv.open() as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    row = rows["Aggregated"]
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 1),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
        "by_turn": {name: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                           "p95_ms": float(r["95%"])} for name, r in rows.items() if name != "Aggregated"},
    }


def hold(url: str, rasa_pids: Dict[str, int], options: Options, label: str) -> dict:
    say(f"throughput: {label}, {options.users} locust users for {options.hold_seconds} s at {url}")
    with tempfile.TemporaryDirectory(prefix="cosp-bench-locust-") as tmp:
        prefix = Path(tmp) / "locust"
        command = [str(LOCUST), "-f", str(BENCH_DIR / "locustfile.py"), "--headless", "-u", str(options.users),
                   "-r", str(options.spawn_rate), "--run-time", f"{options.hold_seconds}s", "--host", url,
                   "--csv", str(prefix), "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING"]
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            sampler = CpuSampler(rasa_pids, proc.pid)
            sampler.start()
            _, stderr = proc.communicate(timeout=options.hold_seconds + 180)
            sampler.done.set()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stats_csv = Path(f"{prefix}_stats.csv")
        if not stats_csv.exists():
            raise RuntimeError(f"locust wrote no statistics (exit {proc.returncode}): {stderr[-2000:]}")
        result = _aggregated(stats_csv)
    result.update(sampler.means(), users=options.users, seconds=options.hold_seconds,
                  held_without_errors=result["failures"] == 0)
    say(f"  {result['rps']} turns/s, {result['failures']} failures of {result['requests']}, p95 {result['p95_ms']} ms, "
        f"CPU: machine {result['machine_cpu_percent']}%, "
        f"Rasa {result['rasa_cpu_percent_of_one_core']}% and locust {result['locust_cpu_percent_of_one_core']}% of a core")
    return result
