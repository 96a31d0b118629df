"""`rasa train` of a configuration, timed, with its peak memory; always a cold start (a fresh cache)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict

import yaml

from bench.options import ROOT
from bench.progress import say
from bench.resources import rss_mb

RASA = Path(sys.executable).parent / "rasa"


def with_epochs(config: Path, epochs: int, out_dir: Path) -> Path:
    """A copy of `config` whose every component and policy with `epochs` trains for `epochs` (a quick run)."""
    data = yaml.safe_load(config.read_text())
    for part in data.get("pipeline", []) + data.get("policies", []):
        if "epochs" in part:
            part["epochs"] = epochs
    path = out_dir / f"{config.stem}.epochs-{epochs}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def train(label: str, config: Path, out_dir: Path) -> Dict:
    """Trains into `out_dir` (new, so nothing is reused); returns seconds, peak RSS (MB) and the model."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=out_dir))
    command = [str(RASA), "train", "--config", str(config), "--out", str(out_dir), "--fixed-model-name", label]
    env = dict(os.environ, RASA_CACHE_DIRECTORY=str(cache), PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false",
               TF_CPP_MIN_LOG_LEVEL="3")
    shown = str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else config.name
    say(f"training: rasa train with {shown}")
    log_path = out_dir / f"train-{label}.log"
    peak = 0.0
    with log_path.open("w") as log:
        began = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                peak = max(peak, rss_mb(proc.pid))
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        seconds = round(time.perf_counter() - began, 1)
    if proc.returncode != 0:
        raise RuntimeError(f"rasa train exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
    say(f"  trained in {seconds} s, peak {peak:.0f} MB")
    return {"seconds": seconds, "peak_rss_mb": round(peak, 1), "model": out_dir / f"{label}.tar.gz",
            "config": shown}
