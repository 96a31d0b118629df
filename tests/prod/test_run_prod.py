"""`make run-prod` (python -m deploy.cluster): starts the production shape on this machine, says
what is wrong with its configuration, and stops every process it started."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from deploy.cluster import answers, wait_until
from tests.environment import process_env
from tests.pg import create_database, drop_database
from tests.redis_server import RedisServer
from tests.support import MODEL, ROOT

pytestmark = [
    pytest.mark.prod,
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]


def run_prod(tmp_path: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deploy.cluster", "--replicas", "1"], cwd=ROOT,
        env=process_env(COSP_VAR_DIR=str(tmp_path), **env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_sqlite_database_url_is_refused_by_name(tmp_path):
    proc = run_prod(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "DATABASE_URL must be a postgresql:// URL" in out


def test_it_starts_healthy_and_stops_every_process_on_sigterm(tmp_path, postgres_url):
    database_url = create_database(postgres_url, "cosp_run_prod")
    redis = RedisServer(tmp_path)
    redis.start()
    proc = run_prod(tmp_path, DATABASE_URL=database_url, REDIS_URL=redis.url)
    try:
        wait_until(lambda: answers("http://127.0.0.1:5005/webhooks/health/") or proc.poll() is not None,
                   "run-prod healthy on :5005", 240)
        assert proc.poll() is None, proc.stdout.read()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 5  # Rasa, actions, nginx, worker, web
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
        wait_until(lambda: not [c for c in children if running(c)], "every child of run-prod gone", 30)
    finally:
        if proc.poll() is None:
            proc.kill()
        redis.stop()
        drop_database(database_url)


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
