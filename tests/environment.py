"""The environment every process a test starts gets: built from an allow-list, never copied whole.

A deployer's shell or `.env` may hold a real bot token, an SMTP server and the team's mailbox; a test
must never send through them. So a child process sees only the variables named here, the settings the
test passes, and safe defaults, and never reads the repository's `.env` (COSP_ENV_FILE points at
/dev/null). `check_harmless` refuses anything that could reach a real person.
"""
from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Dict, Mapping, MutableMapping, Optional
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# What a process needs from the machine to run at all: finding programs, a home, a locale, a temp dir.
ALLOWED = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME", "SYSTEMROOT")

# Every variable our settings read (bot/settings.py), cleared from the test process itself.
SETTINGS_PREFIXES = ("SMTP_", "TELEGRAM_", "REFERRAL_EMAIL_", "WEBCHAT_", "DELIVERY_", "RASA_", "SQL_")
SETTINGS_NAMES = ("DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL", "BRIDGE_SECRET", "RETENTION_DAYS",
                  "ACTION_SERVER_URL", "COSP_VAR_DIR", "REPLICAS", "SANIC_HOST", "SERVICE_PROFILE", "METRICS_PORT")

SAFE_DEFAULTS = {
    "PYTHONPATH": str(ROOT),
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "COSP_ENV_FILE": os.devnull,
    "SANIC_HOST": "127.0.0.1",
    "REFERRAL_EMAIL_TO": "staff@example.org",
    "REFERRAL_EMAIL_FROM": "cosp-assistant@example.org",
    "METRICS_PORT": "0",  # a test that wants the worker's metrics gives it a free port
}

EXAMPLE_MAIL_DOMAINS = ("example.org", "example.com", "example.net", "example.nhs.uk")


class UnsafeTestEnvironment(AssertionError):
    """A test was about to start a process that could reach a real mailbox, bot or server."""


def process_env(**settings: str) -> Dict[str, str]:
    """The environment for a process a test starts: the allow-list, safe defaults, then `settings`."""
    env = {name: os.environ[name] for name in ALLOWED if name in os.environ}
    env["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "/usr/bin:/bin")])
    env.update(SAFE_DEFAULTS)
    env.update(settings)
    check_harmless(env)
    return env


def check_harmless(env: Mapping[str, str]) -> None:
    """Raises UnsafeTestEnvironment unless every address in `env` is loopback or an example domain."""
    smtp = env.get("SMTP_HOST", "").strip()
    if smtp and not _is_loopback(smtp):
        raise UnsafeTestEnvironment(f"SMTP_HOST={smtp!r}: tests send mail only to an SMTP server on loopback")
    for name in ("REFERRAL_EMAIL_TO", "REFERRAL_EMAIL_FROM"):
        address = env.get(name, "").strip()
        if address and not address.lower().endswith(tuple("@" + domain for domain in EXAMPLE_MAIL_DOMAINS)):
            raise UnsafeTestEnvironment(f"{name}={address!r}: tests write only to example.org-style addresses")
    if env.get("TELEGRAM_BOT_TOKEN", "").strip():
        base = env.get("TELEGRAM_API_BASE_URL", "").strip()
        if not base or not _is_loopback(urlsplit(base).hostname or ""):
            raise UnsafeTestEnvironment("TELEGRAM_BOT_TOKEN is set without a loopback TELEGRAM_API_BASE_URL: "
                                        "tests talk only to the fake Bot API")
    for name in ("DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL", "TELEGRAM_WEBHOOK_URL", "RASA_URL",
                 "ACTION_SERVER_URL"):
        value = env.get(name, "").strip()
        host = urlsplit(value).hostname if "://" in value else None
        if host and not _is_loopback(host):
            raise UnsafeTestEnvironment(f"{name} points at {host}: tests use only servers on loopback")


def scrub(environ: MutableMapping[str, str]) -> Dict[str, str]:
    """Removes every setting of ours from `environ` and stops `.env` being read; returns what was removed."""
    removed = {name: environ.pop(name) for name in list(environ)
               if name.startswith(SETTINGS_PREFIXES) or name in SETTINGS_NAMES}
    environ["COSP_ENV_FILE"] = os.devnull
    environ["RASA_TELEMETRY_ENABLED"] = "false"
    return removed


def _is_loopback(host: Optional[str]) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
