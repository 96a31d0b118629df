"""Starting the real processes for end-to-end tests."""
from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Dict, IO, Iterable, List

from deploy.cluster import free_port, read_logs, stop_all, wait_until
from tests.environment import check_harmless, process_env

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "cosp.tar.gz"
BIN = Path(sys.executable).parent


def wait_for(url: str, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError(url)


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


class Stack:
    """Rasa server, action server and delivery worker (and more, by name), each a real process."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.rasa_port, self.action_port = free_port(), free_port()
        self.env = process_env(
            COSP_VAR_DIR=str(tmp),
            TRACKER_DATABASE_URL=f"sqlite:///{tmp / 'tracker.db'}",
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            RASA_URL=f"http://127.0.0.1:{self.rasa_port}",
            SANIC_HOST="127.0.0.1",
            DELIVERY_POLL_SECONDS="0.5",
            DELIVERY_MAX_BACKOFF_SECONDS="5",
            **env,
        )
        self.procs: Dict[str, subprocess.Popen] = {}
        self.logs: Dict[str, IO[str]] = {}

    def start(self, name: str, command: List[str], **extra_env: str) -> subprocess.Popen:
        env = {**self.env, **extra_env}
        check_harmless(env)
        log = self.logs[name] = open(self.tmp / f"{name}.log", "w+")
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start_assistant(self) -> "Stack":
        self.start("actions", [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "-p", str(self.action_port)])
        self.start("rasa", [str(BIN / "rasa"), "run", "-m", str(MODEL), "--endpoints", "endpoints.yml",
                            "--credentials", "credentials.yml", "-i", "127.0.0.1", "-p", str(self.rasa_port)])
        self.start("worker", [sys.executable, "-m", "actions.delivery.worker"])
        wait_for(f"http://127.0.0.1:{self.action_port}/health")
        wait_for(f"http://127.0.0.1:{self.rasa_port}/")
        return self

    def deliveries(self, reference: str) -> Dict[str, Dict[str, object]]:
        """The delivery jobs of one referral, by channel, as the worker has recorded them."""
        path = self.tmp / "referrals.db"
        if not path.exists():
            return {}
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            rows = conn.execute(
                "SELECT d.channel, d.status, d.attempts, d.last_error FROM deliveries d "
                "JOIN referrals r ON r.id = d.referral_id WHERE r.reference = ?", (reference,)).fetchall()
        return {channel: {"status": status, "attempts": attempts, "last_error": error}
                for channel, status, attempts, error in rows}

    def wait_until_delivered(self, reference: str, channels: Iterable[str] = ("email",), seconds: float = 60) -> None:
        """Until the worker has recorded each job as sent: from then on it never sends that job
        again, so what has arrived by now is all that ever will."""
        wanted = set(channels)
        wait_until(lambda: {c for c, job in self.deliveries(reference).items() if job["status"] == "sent"} >= wanted,
                   f"{reference} delivered by {', '.join(sorted(wanted))}", seconds)

    def log_text(self) -> str:
        return read_logs(self.logs.values())

    def stop(self) -> None:
        stop_all(self.procs.values())
