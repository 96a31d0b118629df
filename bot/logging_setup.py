"""Logging for our own processes: INFO, and never a library's request URLs (they hold the bot token)."""
from __future__ import annotations

import logging
import warnings

QUIET = ("httpx", "httpcore")  # log every request URL at INFO, token included


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def silence_rasa_message_echoes() -> None:
    """Rasa warns, quoting the whole message, about any message starting with "/" that is not a
    clean `/intent` (e.g. "/Sam Taylor" or `/inform{"phone": ...}`): what a parent typed must not
    reach the log. Called in the Rasa server by our NLU component."""
    warnings.filterwarnings("ignore", message="Failed to parse arguments in line")
