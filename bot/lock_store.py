"""The conversation lock stores: one conversation's messages are processed one at a time, in the
order they arrived, and the worker's purge and erasure wait their turn too. Rasa's Redis lock store
configured from REDIS_URL (several Rasa servers, endpoints.prod.yml); a file lock store for one
machine (endpoints.yml)."""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import struct
import threading
import time
from collections import Counter
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Text, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore, RedisLockStore
from redis.connection import parse_url

from bot.settings import ConfigError, Settings, load_settings

SOCKET_TIMEOUT_SECONDS = 3.0
_FLOCK = "hhqqi4x"  # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)


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
    """One machine's lock store (endpoints.yml). A conversation's lock is one byte of
    var/locks/conversations, at an offset taken from a hash of its ID (never the ID), held with an
    open file description lock (fcntl F_OFD_SETLK). The delivery worker's retention purge and "delete
    my data" take the same byte from another process (`hold`), and the kernel lets go of it if its
    holder dies. Within a process, one conversation's turns queue for it on an asyncio lock, in the
    order they arrived, and the next starts as soon as the last ends.

    Taking and returning the lock are three system calls. Rasa's ticket locks, kept in files, took
    about twenty a turn, and a turn that found its conversation busy polled again only after a second
    (issue 13)."""

    POLL_SECONDS = 0.01  # while another process holds the conversation (a purge or an erasure: brief)

    def __init__(self, endpoint_config: Any = None, directory: Optional[Path] = None) -> None:
        self.directory = directory or load_settings().var_dir / "locks"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "conversations"
        self._queues: Dict[Tuple[int, Text], List[Any]] = {}  # (event loop, conversation): [lock, users]
        self._waiting: Counter = Counter()
        self._count = threading.Lock()
        super().__init__()

    @staticmethod
    def _offset(conversation_id: Text) -> int:
        return int.from_bytes(hashlib.sha256(conversation_id.encode("utf-8")).digest()[:6], "big")

    def _flock(self, kind: int, conversation_id: Text) -> bytes:
        return struct.pack(_FLOCK, kind, os.SEEK_SET, self._offset(conversation_id), 1, 0)

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _try(self, conversation_id: Text) -> Optional[int]:
        """A file descriptor holding the conversation's byte, or None if another holder has it."""
        fd = self._open()
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, self._flock(fcntl.F_WRLCK, conversation_id))
        except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: held
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _note_waiting(self, conversation_id: Text, change: int) -> None:
        with self._count:
            self._waiting[conversation_id] += change
            if not self._waiting[conversation_id]:
                del self._waiting[conversation_id]

    async def _take(self, conversation_id: Text, lifetime: float) -> int:
        fd = self._try(conversation_id)
        if fd is not None:
            return fd
        deadline = time.monotonic() + lifetime
        self._note_waiting(conversation_id, 1)
        try:
            while fd is None:
                if time.monotonic() > deadline:
                    raise LockError(f"the conversation lock was not free within {lifetime:.0f} s")
                await asyncio.sleep(self.POLL_SECONDS)
                fd = self._try(conversation_id)
            return fd
        finally:
            self._note_waiting(conversation_id, -1)

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[None]:
        """The conversation's lock for one turn (Rasa's agent and HTTP API call this)."""
        key = (id(asyncio.get_running_loop()), conversation_id)
        entry = self._queues.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            await self._queue_on(entry[0], conversation_id)
            try:
                fd = await self._take(conversation_id, lock_lifetime)
                try:
                    yield None
                finally:
                    os.close(fd)
            finally:
                entry[0].release()
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._queues[key]

    async def _queue_on(self, queue: asyncio.Lock, conversation_id: Text) -> None:
        if not queue.locked():
            await queue.acquire()
            return
        self._note_waiting(conversation_id, 1)
        try:
            await queue.acquire()
        finally:
            self._note_waiting(conversation_id, -1)

    @contextmanager
    def hold(self, conversation_id: Text, wait_seconds: float = LOCK_LIFETIME) -> Iterator[None]:
        """The same lock, for code outside an event loop (the worker's purge and erasure)."""
        fd = self._try(conversation_id)
        if fd is None:
            deadline = time.monotonic() + wait_seconds
            self._note_waiting(conversation_id, 1)
            try:
                while fd is None:
                    if time.monotonic() > deadline:
                        raise LockError(f"the conversation lock was not free within {wait_seconds:.0f} s")
                    time.sleep(self.POLL_SECONDS)
                    fd = self._try(conversation_id)
            finally:
                self._note_waiting(conversation_id, -1)
        try:
            yield
        finally:
            os.close(fd)

    def is_held(self, conversation_id: Text) -> bool:
        """Whether anything, in any process, holds the conversation's lock now."""
        fd = self._open()
        try:
            answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, self._flock(fcntl.F_WRLCK, conversation_id))
        finally:
            os.close(fd)
        return struct.unpack(_FLOCK, answer)[0] != fcntl.F_UNLCK

    def waiting(self, conversation_id: Text) -> int:
        """How many turns or holds in this process are waiting for the conversation's lock."""
        with self._count:
            return self._waiting[conversation_id]

    # Rasa's ticket interface, which `lock` replaces: a ticket here would exclude nothing
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return None

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("FileLockStore locks with lock() or hold(), not tickets")

    def delete_lock(self, conversation_id: Text) -> None:
        return None

    def ping(self) -> None:
        os.close(self._open())


def lock_store_for(settings: Settings) -> LockStore:
    """The lock store the Rasa servers use: Redis with REDIS_URL (endpoints.prod.yml), else files."""
    if settings.redis_url:
        return RedisURLLockStore(url=settings.redis_url)
    return FileLockStore(directory=settings.var_dir / "locks")
