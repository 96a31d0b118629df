"""Several Rasa servers and action servers behind nginx, on PostgreSQL and Redis, on one machine.

`make run-prod` runs `python -m deploy.cluster`; the production fault tests and the benchmark use
the `Cluster` class. Every process is the same command a Kubernetes pod would run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, IO, Iterable, List, Mapping, Optional

from deploy import nginx

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "cosp.tar.gz"
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until(check, what: str, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise TimeoutError(what)


class Cluster:
    """`replicas` Rasa servers and action servers, nginx in front, one delivery worker."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str, replicas: int = 2,
                 credentials: str = "credentials.prod.yml", endpoints: str = "endpoints.prod.yml",
                 rasa_port: Optional[int] = None, action_port: Optional[int] = None,
                 first_port: Optional[int] = None, log_to_files: bool = True,
                 base_env: Optional[Mapping[str, str]] = None, **env: str) -> None:
        self.workdir = workdir
        self.replicas = replicas
        self.credentials, self.endpoints = credentials, endpoints
        self.rasa_port = rasa_port or free_port()
        self.action_port = action_port or free_port()
        if first_port:
            self.rasa_ports = [first_port + i for i in range(replicas)]
            self.action_ports = [first_port + 50 + i for i in range(replicas)]
        else:
            self.rasa_ports = [free_port() for _ in range(replicas)]
            self.action_ports = [free_port() for _ in range(replicas)]
        self.log_to_files = log_to_files
        self.env = dict(
            os.environ if base_env is None else base_env,  # the tests pass an allow-listed environment
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="3",
            COSP_VAR_DIR=str(workdir),
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            RASA_URL=self.url,
            SANIC_HOST="127.0.0.1",
            # Rasa's PostgreSQL pool is 50 + 100 connections per server by default, more than
            # PostgreSQL's default limit of 100 for two servers.
            SQL_POOL_SIZE="5",
            SQL_MAX_OVERFLOW="10",
        )
        self.env.update(env)  # the caller's values win (the benchmark points Rasa at other actions)
        self.procs: Dict[str, subprocess.Popen] = {}
        self.logs: Dict[str, IO[str]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def rasa_url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[replica]}"

    def commands(self) -> Dict[str, List[str]]:
        commands: Dict[str, List[str]] = {}
        for i, port in enumerate(self.action_ports):
            commands[f"actions-{i + 1}"] = [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "-p", str(port)]
        for i, port in enumerate(self.rasa_ports):
            commands[f"rasa-{i + 1}"] = [
                str(BIN / "rasa"), "run", "-m", str(MODEL), "--endpoints", self.endpoints,
                "--credentials", self.credentials, "-i", "127.0.0.1", "-p", str(port)]
        commands["nginx"] = [NGINX, "-p", str(self.workdir), "-c", str(nginx.path(self.workdir)), "-g", "daemon off;"]
        commands["worker"] = [sys.executable, "-m", "actions.delivery.worker"]
        return commands

    def health_url(self, name: str) -> Optional[str]:
        kind, _, number = name.partition("-")
        if kind == "rasa":
            return f"{self.rasa_url(int(number) - 1)}/webhooks/health/"
        if kind == "actions":
            return f"http://127.0.0.1:{self.action_ports[int(number) - 1]}/health"
        if kind == "nginx":
            return f"{self.url}/webhooks/health/"
        return None

    def start_process(self, name: str) -> subprocess.Popen:
        command = self.commands()[name]
        if self.log_to_files:
            log = self.logs.get(name) or open(self.workdir / f"{name}.log", "a+")
            self.logs[name] = log
            proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        else:
            proc = subprocess.Popen(command, cwd=ROOT, env=self.env)
        self.procs[name] = proc
        return proc

    def wait_healthy(self, name: str, seconds: float = 240) -> None:
        url = self.health_url(name)
        if url:
            proc = self.procs[name]

            def ready() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: see {self.workdir / (name + '.log')}")
                return answers(url)

            wait_until(ready, f"{name} healthy at {url}", seconds)

    def migrate(self) -> None:
        """The referral store's schema, brought up to date once before the servers start (as the
        Kubernetes migration Job does); each process would also do it, under a lock."""
        subprocess.run([sys.executable, "-m", "actions.delivery.migrate"], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def start(self) -> "Cluster":
        self.migrate()
        nginx.write(self.workdir, rasa_port=self.rasa_port, action_port=self.action_port,
                    rasa_ports=self.rasa_ports, action_ports=self.action_ports)
        names = list(self.commands())
        for name in names:
            self.start_process(name)
        for name in names:
            self.wait_healthy(name)
        return self

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def restart(self, name: str) -> None:
        self.start_process(name)
        self.wait_healthy(name)

    def log_text(self, name: Optional[str] = None) -> str:
        return read_logs([log for log_name, log in self.logs.items() if name is None or log_name == name])

    def stop(self) -> None:
        stop_all(self.procs.values())


def read_logs(logs: Iterable[IO[str]]) -> str:
    chunks = []
    for log in logs:
        log.flush()
        log.seek(0)
        chunks.append(log.read())
    return "\n".join(chunks)


def stop_all(procs: Iterable[subprocess.Popen]) -> None:
    """SIGTERM to every process still running, then up to 30 s each before SIGKILL."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_database(database_url: str) -> None:
    """Creates the PostgreSQL database named in the URL if the server has no such database yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    from bot.settings import ConfigError, load_dotenv, load_settings

    parser = argparse.ArgumentParser(description="Start the assistant as several servers behind nginx.")
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")))
    args = parser.parse_args(argv)
    load_dotenv()  # before the defaults below, so .env's values win over them
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cosp")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if not settings.database_url.startswith("postgresql"):
        print("Configuration error: DATABASE_URL must be a postgresql:// URL for make run-prod", file=sys.stderr)
        return 2
    try:
        ensure_database(settings.database_url)
    except Exception as error:
        print(f"PostgreSQL at DATABASE_URL does not answer ({type(error).__name__}): is it running?", file=sys.stderr)
        return 2
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(settings.var_dir, settings.database_url, settings.redis_url or "", replicas=args.replicas,
                      rasa_port=5005, action_port=5055, first_port=5101, log_to_files=False)
    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # so that `finally` stops every child, as with Ctrl-C

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    print(f"Starting {args.replicas} Rasa servers and {args.replicas} action servers behind nginx on :5005 ...",
          file=sys.stderr)
    try:
        cluster.start()
        cluster.procs["web"] = subprocess.Popen([sys.executable, "-m", "bot.webchat.serve"], cwd=ROOT, env=cluster.env)
        if settings.telegram_bot_token:
            cluster.procs["telegram"] = subprocess.Popen([sys.executable, "-m", "bot.telegram"], cwd=ROOT, env=cluster.env)
        print(f"Ready: {cluster.url}/webhooks/health/ ; web chat demo on http://127.0.0.1:{settings.webchat_port}/",
              file=sys.stderr)
        while all(proc.poll() is None for proc in cluster.procs.values()):
            time.sleep(1)
        gone = [name for name, proc in cluster.procs.items() if proc.poll() is not None]
        print(f"Stopping: {', '.join(gone)} exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
