"""The conversation lock stores: one conversation's messages are processed one at a time, in the
order they arrived, and the worker's purge and erasure wait their turn too. Rasa's Redis lock store
configured from REDIS_URL (several Rasa servers, endpoints.prod.yml); a file lock store for one
machine (endpoints.yml)."""
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
from rasa.core.lock_store import LOCK_LIFETIME, LockStore, RedisLockStore
from redis.connection import parse_url

from bot.settings import ConfigError, Settings, load_settings

SOCKET_TIMEOUT_SECONDS = 3.0


class RedisURLLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Any = None, url: Optional[str] = None) -> None:
        url = url or load_settings().redis_url
        if not url:
            raise ConfigError("REDIS_URL must be set when Rasa runs with endpoints.prod.yml (the Redis lock store)")
        parts = parse_url(url)
        super().__init__(
            host=parts.get("host", "localhost"),
            port=parts.get("port", 6379),
            db=parts.get("db", 1),
            username=parts.get("username"),
            password=parts.get("password"),
            use_ssl=url.startswith("rediss://"),
            key_prefix="cosp",
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
        )

    def ping(self) -> None:
        self.red.ping()


class FileLockStore(LockStore):
    """One machine's lock store (endpoints.yml): each conversation's ticket lock is a small file in
    var/locks/, so the delivery worker's retention purge and "delete my data" take the same lock as
    the Rasa server's turns, from another process. Issuing and returning a ticket are each one
    read-modify-write under an exclusive flock, so two processes never draw the same ticket. File
    names are a hash of the conversation ID, never the ID."""

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


def lock_store_for(settings: Settings) -> LockStore:
    """The lock store the Rasa servers use: Redis with REDIS_URL (endpoints.prod.yml), else files."""
    if settings.redis_url:
        return RedisURLLockStore(url=settings.redis_url)
    return FileLockStore(directory=settings.var_dir / "locks")
