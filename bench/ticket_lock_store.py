"""Rasa's ticket locks kept in files: the file lock store as it was until 2026-12-04 (bot/lock_store.py
before its byte locks), kept only so that make bench-speed can measure what the byte locks buy, in
the same run. Not for use: the delivery worker's purge and erasure no longer take these tickets."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockStore

from bot.settings import load_settings


class TicketFileLockStore(LockStore):
    """Each conversation's ticket lock a small file in var/locks/, read and written under a flock."""

    def __init__(self, endpoint_config: Any = None, directory: Optional[Path] = None) -> None:
        self.directory = directory or load_settings().var_dir / "locks"
        self.directory.mkdir(parents=True, exist_ok=True)
        super().__init__()

    def _path(self, conversation_id: Text) -> Path:
        return self.directory / hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:40]

    @contextmanager
    def _exclusive(self, conversation_id: Text) -> Iterator[None]:
        # one of 256 guard files, never deleted: unlinking a file another process has flocked would
        # let a third lock a new file of the same name
        with open(self.directory / f"guard-{self._path(conversation_id).name[:2]}", "a+") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(guard, fcntl.LOCK_UN)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        try:
            return TicketLock.from_dict(json.loads(self._path(conversation_id).read_text(encoding="utf-8")))
        except (FileNotFoundError, ValueError):  # none, or a half-written file from a killed process
            return None

    def save_lock(self, lock: TicketLock) -> None:
        path = self._path(lock.conversation_id)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}")
        partial.write_text(lock.dumps(), encoding="utf-8")
        os.replace(partial, path)

    def delete_lock(self, conversation_id: Text) -> None:
        self._path(conversation_id).unlink(missing_ok=True)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._exclusive(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        with self._exclusive(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        with self._exclusive(conversation_id):
            super().cleanup(conversation_id, ticket_number)

    def ping(self) -> None:
        if not os.access(self.directory, os.W_OK):
            raise OSError(f"{self.directory} is not writable")
