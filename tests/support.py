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
from typing import Dict, IO, Iterable, List, Optional, Tuple

from deploy.cluster import free_port, read_logs, stop_all, wait_until
from tests.environment import check_harmless, process_env

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "cosp.tar.gz"
BIN = Path(sys.executable).parent


def _form_texts() -> Tuple[List[str], List[str]]:
    """The referral questions' texts, and the texts that only say an answer was not taken."""
    from actions.referral import questions as q
    from actions.referral.consent import consent_text
    from actions.responses import RESPONSES as responses

    def texts(name: str) -> List[str]:
        return [v["text"] for v in responses.get(name, []) if "text" in v]

    asked = [t for slot in q.REFERRAL_SLOTS for t in texts(f"utter_ask_{slot}")]
    asked += [consent_text("self"), consent_text("professional"), "Please check your answers:"]
    not_taken = [t for name in responses if name.startswith("utter_invalid_") or name == "utter_still_stuck" for t in texts(name)]
    return asked, not_taken


class QuestionWatch:
    """Fails as soon as one conversation meets the same referral question three turns running with
    nothing else said (issue 12: a question at most twice in a row). A turn that answers something
    the parent asked, or notes a detail, is not the question met again."""

    def __init__(self) -> None:
        self.questions, self.not_taken = _form_texts()
        self.runs: Dict[str, Tuple[Optional[str], int]] = {}

    def is_question(self, text: str) -> bool:
        return any(text.startswith(question) for question in self.questions)

    def question_in(self, texts: Iterable[str]) -> Optional[str]:
        # the whole text: a summary with other answers is another question
        return next((text for text in reversed(list(texts)) if self.is_question(text)), None)

    def saw(self, conversation: str, texts: Iterable[str]) -> None:
        said = [t or "" for t in texts]
        asked = self.question_in(said)
        only_asked = all(t == asked or t in self.not_taken for t in said)
        previous, times = self.runs.get(conversation, (None, 0))
        times = times + 1 if asked is not None and asked == previous and only_asked else 1
        self.runs[conversation] = (asked, times)
        assert times <= 2, f"{conversation!r} was asked {asked[:80]!r} three turns running"

    def check_transcript(self, conversation: str, texts: Iterable[str]) -> int:
        """The same check over everything one chat was sent, in order, where turns can't be told
        apart (Telegram): a question three times with only "not taken" texts between fails.
        Returns how many questions it saw, so a caller can show the check is not vacuous."""
        last, times, seen = None, 0, 0
        for text in (t or "" for t in texts):
            if self.is_question(text):
                seen += 1
                last, times = text, times + 1 if text == last else 1
                assert times <= 2, f"{conversation!r} was asked {text[:80]!r} three times running"
            elif text not in self.not_taken:
                last, times = None, 0
        return seen


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
