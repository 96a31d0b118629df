"""A PostgreSQL server of the tests' own, and throw-away databases on it.

The tests never use, stop, restart or reconfigure a server they did not start: `PostgresServer` runs
Debian's `initdb` and `postgres` in a temporary folder, on a free loopback port (and a socket in that
folder), and removes it all when stopped. Set TEST_POSTGRES_URL (e.g. postgresql://user@host:5432) to
use another server instead; the tests that restart or block the server then need one of their own.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from deploy.cluster import free_port

EXTERNAL = os.environ.get("TEST_POSTGRES_URL", "").strip().rstrip("/")


class PostgresUnavailable(RuntimeError):
    """Neither TEST_POSTGRES_URL nor PostgreSQL's server programs (initdb, postgres) are here."""


def bin_dir() -> Path:
    """Where initdb and postgres are: Debian keeps them in /usr/lib/postgresql/<version>/bin."""
    initdb = shutil.which("initdb")
    if initdb:
        found = Path(initdb).resolve().parent
        if (found / "postgres").exists():
            return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if versions:
        return versions[-1].parent
    raise PostgresUnavailable("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")


class PostgresServer:
    """`postgres` as a child process of the tests, its data in a temporary folder."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # fsync as in production (the benchmark); off for the tests' speed
        self.bin = bin_dir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cosp-test-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.proc: Optional[subprocess.Popen] = None
        # PostgreSQL refuses to run as root; as root, the folder is handed to the postgres user.
        self.user = _unprivileged_user() if os.geteuid() == 0 else None
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run_as(self) -> dict:
        return {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user else {}

    def _env(self) -> dict:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}

    def initdb(self) -> "PostgresServer":
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       check=True, capture_output=True, env=self._env(), cwd=self.dir, **self._run_as())
        return self

    def start(self) -> "PostgresServer":
        log = open(self.log, "a")
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
             *([] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])],
            stdout=log, stderr=subprocess.STDOUT, env=self._env(), cwd=self.dir, **self._run_as())
        log.close()
        self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        engine = create_engine(f"{self.url}/postgres", future=True)
        try:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"the tests' PostgreSQL exited: {self.log.read_text()[-2000:]}")
                try:
                    with engine.connect() as conn:
                        conn.execute(text("SELECT 1"))
                    return
                except OperationalError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)
        finally:
            engine.dispose()

    def stop(self, mode: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown: clients are disconnected, nothing is lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(mode)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_lines(self) -> List[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root, and there is no postgres or nobody user to run PostgreSQL as")


@contextmanager
def own_server(durable: bool = False) -> Iterator[PostgresServer]:
    """A new server for the duration, removed afterwards."""
    server = PostgresServer(durable)
    try:
        yield server.initdb().start()
    finally:
        server.remove()


def create_database(server_url: str, prefix: str = "cosp_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url}/{name}"


def drop_database(url: str) -> None:
    server_url, name = url.rsplit("/", 1)
    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def fresh_database(server_url: str, prefix: str = "cosp_test") -> Iterator[str]:
    url = create_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_database(url)
