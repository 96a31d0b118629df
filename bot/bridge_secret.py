"""The shared secret between the Telegram bridge and Rasa's bridge channel.

BRIDGE_SECRET from the environment when set (production: the same value for Rasa and the bridge);
otherwise a random one made once in var/bridge-secret (owner-only), so a local run needs no setup."""
from __future__ import annotations

import os
import secrets
import time

from bot.settings import ConfigError, Settings

MIN_LENGTH = 24


def bridge_secret(settings: Settings) -> str:
    if settings.bridge_secret:
        if len(settings.bridge_secret) < MIN_LENGTH:
            raise ConfigError(f"BRIDGE_SECRET must be at least {MIN_LENGTH} characters")
        return settings.bridge_secret
    path = settings.var_dir / "bridge-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process is writing it this instant
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.1)
        raise ConfigError(f"{path} is empty: delete it and start again") from None
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
