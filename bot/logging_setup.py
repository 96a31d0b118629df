"""Logging for our own processes: INFO, and never a library's request URLs (they hold the bot token)."""
from __future__ import annotations

import logging

QUIET = ("httpx", "httpcore")  # log every request URL at INFO, token included


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
