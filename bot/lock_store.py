"""Rasa's Redis lock store, configured from REDIS_URL: with several Rasa servers, one conversation's
messages are processed one at a time, in the order they arrived, whichever server took them."""
from __future__ import annotations

from typing import Any

from rasa.core.lock_store import RedisLockStore
from redis.connection import parse_url

from bot.settings import ConfigError, load_settings

SOCKET_TIMEOUT_SECONDS = 3.0


class RedisURLLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Any = None) -> None:
        url = load_settings().redis_url
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
