"""`make bench`: measures the assistant beside its baselines, prints the table, writes bench/results.json.

Environment: BENCH_QUICK=1 (a short smoke run), BENCH_HOLD_SECONDS (default 300), BENCH_SAMPLES,
BENCH_CONCURRENCY (default 1,10,50), BENCH_USERS (default 50), BENCH_REDIS_URL, BENCH_ONLY (some of
one,two,speed,training,safety: those sections alone, into bench/results-<sections>.json). See bench/README.md.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

import psutil

from bench import latency, nlu_eval, report, resources, safety_cost, speed, throughput, training
from bench.options import BENCH_DIR, ROOT, SECTIONS, Options, load
from bench.progress import say
from bench.stack import null_action_server, postgres, redis, serving
from deploy.cluster import Cluster


class Run:
    def __init__(self, options: Options, postgres_url: str, redis_url: str) -> None:
        self.options = options
        self.postgres_url, self.redis_url = postgres_url, redis_url
        self.results: Dict = {"latency": {}, "throughput": {}, "memory_mb": {}, "startup_seconds": {},
                              "training": {}, "nlu": {}}
        self.failures: Dict[str, str] = {}

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        """A failed part is reported and the rest still measured."""
        say(f"== {name}")
        try:
            yield
        except Exception as error:
            traceback.print_exc()
            self.failures[name] = f"{type(error).__name__}: {error}"
            say(f"FAILED: {name}: {type(error).__name__}: {error}")

    def one_replica(self) -> None:
        opts, results = self.options, self.results
        with serving("ours-1", 1, self.postgres_url, self.redis_url) as ours:
            with self.section("latency (ours beside the same Rasa with a null action server)"):
                with null_action_server() as null, \
                        serving("baseline-1", 1, self.postgres_url, self.redis_url, ACTION_SERVER_URL=null.url) as base:
                    results["latency"] = latency.run({"ours": ours.rasa_url(0), "baseline": base.rasa_url(0)}, opts)
                    results["memory_mb"]["baseline"] = {**resources.memory(base),
                                                        "null-actions": resources.rss_mb(null.pid)}
                    results["startup_seconds"]["baseline"] = {"rasa": resources.startup_seconds(base, "rasa-1"),
                                                              "actions": null.startup_seconds}
            with self.section("start-up"):
                results["startup_seconds"]["ours"] = {"rasa": resources.startup_seconds(ours, "rasa-1"),
                                                      "actions": resources.startup_seconds(ours, "actions-1")}
            self.hold(ours, "1 replica")

    def two_replicas(self) -> None:
        """Ours, then the same with every speed lever off (issue 13's baseline, in the same run)."""
        with serving("ours-2", 2, self.postgres_url, self.redis_url) as ours:
            self.hold(ours, "2 replicas")
        with serving("no-levers-2", 2, self.postgres_url, self.redis_url, SPEED_LEVERS="none") as base:
            self.hold(base, "2 replicas, no levers")

    def hold(self, cluster: Cluster, label: str) -> None:
        with self.section(f"throughput, {label} behind nginx"):
            latency.warm_up(cluster.rasa_url(i) for i in range(cluster.replicas))
            pids = {name: proc.pid for name, proc in cluster.procs.items() if name.startswith("rasa")}
            self.results["throughput"][label] = throughput.hold(cluster.url, pids, self.options, label)
        self.results["memory_mb"][label] = resources.memory(cluster)
        say(f"memory after load, {label}: {self.results['memory_mb'][label]}")

    def training_and_nlu(self) -> None:
        opts, results = self.options, self.results
        with tempfile.TemporaryDirectory(prefix="cosp-bench-train-") as tmp:
            models: Dict[str, Path] = {}
            init_config = BENCH_DIR / "config.rasa-init.yml"
            note = None
            if opts.rasa_init_epochs:
                init_config = training.with_epochs(init_config, opts.rasa_init_epochs, Path(tmp))
                note = f"quick: {opts.rasa_init_epochs} epochs, not 100"
            for label, config in (("ours", ROOT / "config.yml"), ("rasa_init", init_config)):
                with self.section(f"training, {label}"):
                    out = Path(tmp) / label
                    out.mkdir()
                    trained = training.train(label, config, out)
                    models[label] = trained.pop("model")
                    results["training"][label] = {**trained, **({"note": note} if label == "rasa_init" and note else {})}
            for label, model in models.items():
                with self.section(f"NLU accuracy, {label}"):
                    say(f"NLU accuracy: classifying the held-out set with the {label} model")
                    predicted = nlu_eval.predictions(model)
                    results["nlu"][label] = nlu_eval.scores(predicted)
                    picture = BENCH_DIR / f"confusion-{label.replace('_', '-')}.png"
                    nlu_eval.confusion_png(predicted, f"{label}: held-out intents (tests/nlu/test_nlu.yml)", picture)
                    results["nlu"][label]["confusion_matrix"] = picture.name
                    say(f"  {results['nlu'][label]}")


def _machine() -> Dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    return {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "commit": commit.strip()}


def _stop_on_sigterm(*_: object) -> None:
    raise SystemExit(143)  # so every `finally` stops its servers and drops its database


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    options = load()
    with postgres() as postgres_url, redis(options) as redis_url:
        return measure(Run(options, postgres_url, redis_url))


def measure(run: Run) -> int:
    options = run.options
    started = time.time()
    run.results["run"] = {"quick": options.quick, "options": options.__dict__ | {"concurrency": list(options.concurrency)},
                          "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine_at_start": _machine()}
    say(f"benchmark{' (quick)' if options.quick else ''}: {options}")
    if options.wants("one"):
        with run.section("one Rasa server: latency, start-up, throughput"):
            run.one_replica()
    if options.wants("two"):
        with run.section("two Rasa servers: throughput, beside the same with no speed levers"):
            run.two_replicas()
    if options.wants("speed"):
        with run.section("speed side by side: the make run shape beside the peer build, and each lever alone"):
            run.results["speed"] = {**speed.run(options), "ratios": {}}
            run.results["speed"]["ratios"] = speed.ratios(run.results["speed"])
            say(speed.table(run.results["speed"]))
    if options.wants("training"):
        with run.section("training and NLU accuracy"):
            run.training_and_nlu()
    if options.wants("safety"):
        with run.section("what the safety layers add to a turn"):
            run.results["safety_cost"] = safety_cost.run(2 if options.quick else 5)
            say(safety_cost.table(run.results["safety_cost"]))
    run.results["run"].update(seconds=round(time.time() - started), load_average_at_end=[
        round(x, 2) for x in os.getloadavg()], failures=run.failures)
    run.results["targets"] = report.targets(run.results)
    out = BENCH_DIR / ("results.json" if options.only == SECTIONS else f"results-{'-'.join(options.only)}.json")
    out.write_text(json.dumps(run.results, indent=2, ensure_ascii=False) + "\n")
    if run.results["latency"]:
        report.latency_png(run.results, BENCH_DIR / "latency.png")
    print(report.table(run.results))
    if run.results.get("speed", {}).get("side_by_side"):
        print("\n" + speed.table(run.results["speed"]))
    if run.failures:
        print("\nNot measured (see the log above): " + "; ".join(f"{k}: {v}" for k, v in run.failures.items()))
    say(f"done in {round(time.time() - started)} s: bench/{out.name}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
