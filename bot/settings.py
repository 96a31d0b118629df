"""All configuration, read from the environment (and `.env`) in one place.

Every process calls `load_settings()` once at start; nothing else reads `os.environ`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import List, Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

DEFAULT_SERVICE_PROFILE = PROJECT_ROOT / "service.yml"
MAIL_DROP_TO = "referrals@localhost"  # without REFERRAL_EMAIL_TO: only ever a file in the mail drop

# bot/speed: every lever on unless SPEED_LEVERS names those to keep (the benchmark's ablation).
SPEED_LEVERS = ("action_result_check", "plain_retrieve", "append_save", "sqlite_wal", "tracker_cache",
                "selective_domain", "action_session", "action_http", "action_payload", "empty_domain",
                "lean_featurizer", "lean_classifier", "lean_safety", "plain_graph_run", "rule_states", "rule_keys",
                "slot_copy", "tracker_copy", "debug_copies", "gc_freeze")

_SECRET_FIELDS = {"smtp_password", "telegram_bot_token", "telegram_webhook_secret", "bridge_secret"}
_EXAMPLE_SECRET_MARKERS = ("change-me", "changeme", "example-secret")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    mail_drop_dir: Path
    smtp_host: Optional[str]
    smtp_port: int
    smtp_username: Optional[str]
    smtp_password: Optional[str]
    smtp_starttls: bool
    smtp_timeout: float
    referral_email_to: str
    referral_email_from: str
    telegram_bot_token: Optional[str]
    telegram_api_base_url: Optional[str]
    telegram_staff_chat_id: Optional[str]
    telegram_staff_full_details: bool
    telegram_webhook_url: Optional[str]
    telegram_webhook_secret: Optional[str]
    telegram_webhook_listen: str
    telegram_webhook_port: int
    rasa_url: str
    bridge_secret: Optional[str]
    webchat_allowed_origins: List[str]
    webchat_port: int
    webchat_listen: str
    webchat_socket_url: str
    rasa_timeout: float
    delivery_poll_seconds: float
    retention_days: int
    tracker_database_url: str
    redis_url: Optional[str]
    delivery_max_backoff_seconds: float
    delivery_alert_minutes: float = 60.0
    metrics_port: int = 9102  # the worker's /metrics on 127.0.0.1; 0: none
    speed_levers: List[str] = field(default_factory=lambda: list(SPEED_LEVERS))
    service_profile: Path = DEFAULT_SERVICE_PROFILE

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    def masked(self) -> dict:
        """The settings as a dict that is safe to log: secrets replaced by '***'."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value:
                value = "***"
            elif f.name in {"database_url", "tracker_database_url", "redis_url"} and value:
                value = _mask_url_password(str(value))
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def _mask_url_password(url: str) -> str:
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _metrics_port(env: Mapping[str, str]) -> int:
    if env.get("METRICS_PORT", "").strip() == "0":
        return 0
    port = _number(env, "METRICS_PORT", 9102, int)
    if port > 65535:
        raise ConfigError(f"METRICS_PORT must be a port number (1-65535, or 0 for none), not {port}")
    return port


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float):
    raw = env.get(name, "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, not {raw!r}")
    return value


def _optional(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name, "").strip()
    return value or None


def _origins(env: Mapping[str, str]) -> List[str]:
    raw = env.get("WEBCHAT_ALLOWED_ORIGINS", "").strip() or "http://localhost:8000 http://127.0.0.1:8000"
    origins = [o.rstrip("/") for o in re.split(r"[\s,]+", raw) if o]
    for origin in origins:
        if origin == "*" or not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", origin):
            raise ConfigError(f"WEBCHAT_ALLOWED_ORIGINS must list origins like https://www.example.nhs.uk, not {origin!r}")
    return origins


def _database_url(env: Mapping[str, str], name: str) -> Optional[str]:
    url = env.get(name, "").strip()
    if url and not re.match(r"^(sqlite|postgresql(\+psycopg2)?)://", url):
        raise ConfigError(f"{name} must start with postgresql:// or sqlite:///, not {url.split(':', 1)[0]!r}://...")
    return url or None


def _tracker_url(env: Mapping[str, str], database_url: str, var_dir: Path) -> str:
    """Rasa's conversations: TRACKER_DATABASE_URL, else the referral store's PostgreSQL, else SQLite."""
    explicit = _database_url(env, "TRACKER_DATABASE_URL")
    if explicit:
        return explicit
    if database_url.startswith("postgresql"):
        return database_url
    return f"sqlite:///{var_dir / 'tracker.db'}"


def _redis_url(env: Mapping[str, str]) -> Optional[str]:
    url = env.get("REDIS_URL", "").strip()
    if url and not re.match(r"^rediss?://[^/]+(/\d+)?$", url):
        raise ConfigError("REDIS_URL must look like redis://host:6379/1 (rediss:// for TLS)")
    return url or None


def _speed_levers(env: Mapping[str, str]) -> List[str]:
    said = env.get("SPEED_LEVERS", "").strip().lower()
    if not said or said == "all":
        return list(SPEED_LEVERS)
    if said == "none":
        return []
    names = [name.strip() for name in said.split(",") if name.strip()]
    unknown = [name for name in names if name not in SPEED_LEVERS]
    if unknown:
        raise ConfigError(f"SPEED_LEVERS names unknown levers {unknown}: use all, none, or some of {', '.join(SPEED_LEVERS)}")
    return names


def service_profile_path(env: Optional[Mapping[str, str]] = None) -> Path:
    """SERVICE_PROFILE (relative to the project root), else service.yml."""
    raw = (os.environ if env is None else env).get("SERVICE_PROFILE", "").strip()
    if not raw:
        return DEFAULT_SERVICE_PROFILE
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Reads and checks every setting; raises ConfigError naming the variable at fault."""
    if env is None:
        load_dotenv()
        env = os.environ
    var_dir = Path(env.get("COSP_VAR_DIR", "").strip() or VAR_DIR)
    smtp_password = _optional(env, "SMTP_PASSWORD")
    token = _optional(env, "TELEGRAM_BOT_TOKEN")
    webhook_url = _optional(env, "TELEGRAM_WEBHOOK_URL")
    webhook_secret = _optional(env, "TELEGRAM_WEBHOOK_SECRET")
    if webhook_url and not webhook_url.startswith("https://") and not webhook_url.startswith("http://127.0.0.1"):
        raise ConfigError("TELEGRAM_WEBHOOK_URL must be an https:// address (Telegram only calls https)")
    if webhook_url and not webhook_secret:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be set when TELEGRAM_WEBHOOK_URL is: Telegram sends it with every update")
    if webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", webhook_secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, _ and -")
    if token and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a token from BotFather (digits:letters)")
    staff_chat = _optional(env, "TELEGRAM_STAFF_CHAT_ID")
    if staff_chat and not re.fullmatch(r"-?\d+", staff_chat):
        raise ConfigError("TELEGRAM_STAFF_CHAT_ID must be a chat id (a number, negative for groups)")
    for name, value in (("SMTP_PASSWORD", smtp_password), ("TELEGRAM_BOT_TOKEN", token),
                        ("TELEGRAM_WEBHOOK_SECRET", webhook_secret), ("BRIDGE_SECRET", _optional(env, "BRIDGE_SECRET"))):
        if value and any(marker in value.lower() for marker in _EXAMPLE_SECRET_MARKERS):
            raise ConfigError(f"{name} is still the example value from .env.example: set a real one or leave it empty")
    database_url = _database_url(env, "DATABASE_URL") or f"sqlite:///{var_dir / 'referrals.db'}"
    smtp_host = _optional(env, "SMTP_HOST")
    email_to = env.get("REFERRAL_EMAIL_TO", "").strip()
    if smtp_host and not email_to:
        raise ConfigError("REFERRAL_EMAIL_TO must be set when SMTP_HOST is: the team's referral mailbox"
                          " (without SMTP_HOST, referrals go to the mail drop)")
    email_to = email_to or MAIL_DROP_TO
    email_from = env.get("REFERRAL_EMAIL_FROM", "").strip() or "cosp-assistant@localhost"
    for name, value in (("REFERRAL_EMAIL_TO", email_to), ("REFERRAL_EMAIL_FROM", email_from)):
        if "@" not in value or any(c in value for c in "\r\n,; "):
            raise ConfigError(f"{name} must be one email address, not {value!r}")
    return Settings(
        database_url=database_url,
        var_dir=var_dir,
        mail_drop_dir=var_dir / "mail",
        smtp_host=smtp_host,
        smtp_port=_number(env, "SMTP_PORT", 25, int),
        smtp_username=_optional(env, "SMTP_USERNAME"),
        smtp_password=smtp_password,
        smtp_starttls=_bool(env, "SMTP_STARTTLS", False),
        smtp_timeout=_number(env, "SMTP_TIMEOUT_SECONDS", 10.0),
        referral_email_to=email_to,
        referral_email_from=email_from,
        telegram_bot_token=token,
        telegram_api_base_url=_optional(env, "TELEGRAM_API_BASE_URL"),
        telegram_staff_chat_id=staff_chat,
        telegram_staff_full_details=_bool(env, "TELEGRAM_STAFF_FULL_DETAILS", False),
        telegram_webhook_url=webhook_url,
        telegram_webhook_secret=webhook_secret,
        telegram_webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        telegram_webhook_port=_number(env, "TELEGRAM_WEBHOOK_PORT", 8443, int),
        rasa_url=(env.get("RASA_URL", "").strip() or "http://127.0.0.1:5005").rstrip("/"),
        rasa_timeout=_number(env, "RASA_TIMEOUT_SECONDS", 20.0),
        bridge_secret=_optional(env, "BRIDGE_SECRET"),
        webchat_allowed_origins=_origins(env),
        webchat_port=_number(env, "WEBCHAT_PORT", 8000, int),
        webchat_listen=env.get("WEBCHAT_LISTEN", "").strip() or "127.0.0.1",
        webchat_socket_url=(env.get("WEBCHAT_SOCKET_URL", "").strip() or "http://localhost:5005").rstrip("/"),
        delivery_poll_seconds=_number(env, "DELIVERY_POLL_SECONDS", 2.0),
        retention_days=_number(env, "RETENTION_DAYS", 30, int),
        tracker_database_url=_tracker_url(env, database_url, var_dir),
        redis_url=_redis_url(env),
        delivery_max_backoff_seconds=_number(env, "DELIVERY_MAX_BACKOFF_SECONDS", 300.0),
        delivery_alert_minutes=_number(env, "DELIVERY_ALERT_MINUTES", 60.0),
        metrics_port=_metrics_port(env),
        speed_levers=_speed_levers(env),
        service_profile=_checked_profile(env),
    )


def _checked_profile(env: Mapping[str, str]) -> Path:
    from bot.service_profile import load_profile  # it imports ConfigError from here

    path = service_profile_path(env)
    load_profile(path)  # a missing or malformed key stops the process here, named
    return path


def load_dotenv() -> None:
    """Reads COSP_ENV_FILE (default: `.env` at the project root) into the environment, never over a
    variable already set; the tests point it at /dev/null so that a deployer's `.env` is never used."""
    env_file = Path(os.environ.get("COSP_ENV_FILE", "").strip() or PROJECT_ROOT / ".env")
    if env_file.exists():
        import dotenv

        dotenv.load_dotenv(env_file, override=False)
