"""The Telegram bridge: python-telegram-bot relaying parents' chats to the assistant, with the
staff commands. Run it with `python -m bot.telegram` (`make run` does, when TELEGRAM_BOT_TOKEN is
set). Long polling by default; a webhook when TELEGRAM_WEBHOOK_URL is set, every request checked
against TELEGRAM_WEBHOOK_SECRET (wrong or missing: 403, nothing processed)."""
from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Optional

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from actions.delivery.store import make_engine
from bot import heartbeat
from bot.bridge_secret import bridge_secret
from bot.logging_setup import start_process
from bot.settings import Settings
from bot.telegram import parents, staff
from bot.telegram.rasa_client import RasaClient

log = logging.getLogger("bot.telegram")
WEBHOOK_PATH = "telegram"


def build_application(settings: Settings) -> Application:
    builder = ApplicationBuilder().token(settings.telegram_bot_token).rate_limiter(AIORateLimiter(max_retries=5))
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(base.rsplit("/", 1)[0] + "/file/bot")
    application = builder.post_init(_started).post_shutdown(_stopped).build()
    application.bot_data.update(
        rasa=RasaClient(settings.rasa_url, settings.rasa_timeout, bridge_secret(settings)),
        store=make_engine(settings.database_url),
        staff_chat_id=settings.telegram_staff_chat_id,
        var_dir=settings.var_dir,
    )
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, parents.drop_repeated_updates), group=-1)
    application.add_handler(CommandHandler("referrals", staff.on_referrals))
    application.add_handler(CommandHandler("contacted", staff.on_contacted))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, parents.on_edited))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & ~filters.Chat(_staff_chat(settings)), parents.on_group))
    application.add_handler(CommandHandler("start", parents.on_start, filters=private))
    application.add_handler(CommandHandler("help", parents.on_help, filters=private))
    application.add_handler(CommandHandler("cancel", parents.on_cancel, filters=private))
    application.add_handler(CommandHandler("restart", parents.on_restart, filters=private))
    application.add_handler(MessageHandler(private & filters.TEXT, parents.on_text))
    application.add_handler(CallbackQueryHandler(parents.on_button))
    application.add_handler(MessageHandler(private & ~filters.TEXT, parents.on_other_content))
    application.add_error_handler(_on_error)
    return application


def _staff_chat(settings: Settings) -> list:
    return [int(settings.telegram_staff_chat_id)] if settings.telegram_staff_chat_id else []


HEARTBEAT_SECONDS = 15.0


async def _beat(var_dir: Path) -> None:
    while True:
        heartbeat.beat(var_dir, "telegram")
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _started(application: Application) -> None:
    application.bot_data["heartbeat"] = asyncio.create_task(_beat(application.bot_data["var_dir"]))
    await application.bot.set_my_commands(
        [
            BotCommand("start", "What I can do"),
            BotCommand("help", "What you can ask"),
            BotCommand("cancel", "Stop a referral"),
            BotCommand("restart", "Start again"),
        ]
    )


async def _stopped(application: Application) -> None:
    beating = application.bot_data.get("heartbeat")
    if beating:
        beating.cancel()
    await application.bot_data["rasa"].close()
    application.bot_data["store"].dispose()


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("Telegram update failed: %s", type(context.error).__name__)
    log.debug("details", exc_info=context.error)


def main(argv: Optional[list] = None) -> int:
    settings = start_process(log)
    if settings is None:
        return 2
    if not settings.telegram_bot_token:
        log.error("TELEGRAM_BOT_TOKEN is not set, so there is no Telegram bridge (see README: Telegram)")
        return 2
    log.info("settings: %s", settings.masked())
    application = build_application(settings)
    if settings.telegram_webhook_url:
        log.info("Telegram bridge: webhook mode on %s:%s", settings.telegram_webhook_listen, settings.telegram_webhook_port)
        application.run_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=WEBHOOK_PATH,
            webhook_url=f"{settings.telegram_webhook_url.rstrip('/')}/{WEBHOOK_PATH}",
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("Telegram bridge: long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
