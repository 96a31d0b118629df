"""`make run-prod` (python -m deploy.cluster): starts the production shape on this machine, says
what is wrong with its configuration, and stops every process it started."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from deploy.cluster import answers, wait_until
from tests.pg import create_database, drop_database
from tests.support import MODEL, ROOT

pytestmark = [
    pytest.mark.prod,
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]


def run_prod(tmp_path: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.cluster", "--replicas", "1"], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
             "COSP_VAR_DIR": str(tmp_path), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_sqlite_database_url_is_refused_by_name(tmp_path):
    proc = run_prod(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "DATABASE_URL must be a postgresql:// URL" in out


def test_it_starts_healthy_and_stops_every_process_on_sigterm(tmp_path):
    database_url = create_database("cosp_run_prod")
    proc = run_prod(tmp_path, DATABASE_URL=database_url, REDIS_URL="redis://127.0.0.1:6379/4")
    try:
        wait_until(lambda: answers("http://127.0.0.1:5005/webhooks/health/") or proc.poll() is not None,
                   "run-prod healthy on :5005", 240)
        assert proc.poll() is None, proc.stdout.read()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 5  # Rasa, actions, nginx, worker, web
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
        time.sleep(1)
        assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        drop_database(database_url)
