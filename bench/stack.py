"""The servers under test, each started in a `with` and stopped (and its database dropped) on the way out."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.options import ROOT, Options
from bench.progress import say
from deploy.cluster import Cluster, answers, free_port
from tests import pg
from tests.environment import process_env
from tests.redis_server import RedisServer


@contextmanager
def postgres() -> Iterator[str]:
    """The server the benchmark's databases are made on: TEST_POSTGRES_URL, else one of its own (with
    fsync on, as in production), removed at the end."""
    if pg.EXTERNAL:
        yield pg.EXTERNAL
        return
    with pg.own_server(durable=True) as server:
        yield server.url


@contextmanager
def redis(options: Options) -> Iterator[str]:
    """BENCH_REDIS_URL, else a Redis of the benchmark's own."""
    if options.redis_url:
        yield options.redis_url
        return
    workdir = Path(tempfile.mkdtemp(prefix="cosp-bench-redis-"))
    server = RedisServer(workdir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def serving(label: str, replicas: int, postgres_url: str, redis_url: str, **env: str) -> Iterator[Cluster]:
    """`replicas` Rasa servers (REST channel on, production stores) on a fresh PostgreSQL database."""
    workdir = Path(tempfile.mkdtemp(prefix=f"cosp-bench-{label}-"))
    database_url = pg.create_database(postgres_url, "cosp_bench")
    cluster = Cluster(workdir, database_url, redis_url, replicas=replicas, credentials="credentials.yml",
                      endpoints="endpoints.prod.yml", base_env=process_env(), TRACKER_DATABASE_URL=database_url, **env)
    say(f"starting {label}: {replicas} Rasa server(s), {replicas} action server(s), nginx, worker")
    try:
        try:
            cluster.start()
        except Exception:
            print(cluster.log_text()[-4000:], file=sys.stderr)
            raise
        say(f"{label} ready")
        yield cluster
    finally:
        cluster.stop()
        for log in cluster.logs.values():
            log.close()
        pg.drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)
        say(f"{label} stopped, its database dropped")


@dataclass(frozen=True)
class NullActions:
    url: str  # Rasa's ACTION_SERVER_URL
    pid: int
    startup_seconds: float


@contextmanager
def null_action_server() -> Iterator[NullActions]:
    """bench/null_actions.py, running until the block ends."""
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.null_actions", str(port)], cwd=ROOT)
    try:
        while not answers(f"http://127.0.0.1:{port}/health"):
            if proc.poll() is not None or time.perf_counter() - began > 30:
                raise RuntimeError(f"the null action server did not start (exit code {proc.poll()})")
            time.sleep(0.05)
        yield NullActions(f"http://127.0.0.1:{port}/webhook", proc.pid, round(time.perf_counter() - began, 2))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
