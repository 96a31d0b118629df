"""Logging for our own processes: INFO, and never a library's request URLs (they hold the bot token)."""
from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from bot.settings import Settings

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


def start_process(log: logging.Logger) -> "Optional[Settings]":
    """The start of each of our processes' main(): logging configured and the settings loaded.
    None, after logging which variable is wrong, when the configuration is not usable."""
    from bot.settings import ConfigError, load_settings

    configure_logging()
    try:
        return load_settings()
    except ConfigError as error:
        log.error("configuration error: %s", error)
        return None
