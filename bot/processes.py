"""Which processes `make run` starts: the assistant always; the Telegram bridge when it is configured.
Prints their Procfile names; says on stderr what is left off and why."""
from __future__ import annotations

import sys

from bot.settings import ConfigError, load_settings

ALWAYS = ["rasa", "actions", "worker", "web"]


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    names = list(ALWAYS)
    if settings.telegram_bot_token:
        names.append("telegram")
        mode = "webhook" if settings.telegram_webhook_url else "long polling"
        print(f"Telegram: on ({mode}).", file=sys.stderr)
    else:
        print("Telegram: off, because TELEGRAM_BOT_TOKEN is not set (see README, Telegram).", file=sys.stderr)
    if not settings.smtp_configured:
        print(f"Staff email: SMTP_HOST is not set, so referral emails go to {settings.mail_drop_dir}/", file=sys.stderr)
    print(" ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
