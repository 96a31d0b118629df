"""Staff commands, answered only in the staff chat: /referrals and /contacted REF."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import ContextTypes

from actions.delivery.email import referral_type_label, uk_time
from actions.delivery.store import latest_referrals, mark_contacted
from actions.referral.reference import PATTERN

log = logging.getLogger(__name__)

NOT_STAFF = "Sorry, that command is only for the team's staff chat."
LATEST = 10


def is_staff_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    staff_chat = context.bot_data.get("staff_chat_id")
    return bool(staff_chat) and update.effective_chat is not None and str(update.effective_chat.id) == str(staff_chat)


async def on_referrals(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_staff_chat(update, context):
        await update.effective_message.reply_text(NOT_STAFF)
        return
    engine: Engine = context.bot_data["store"]
    rows = latest_referrals(engine, LATEST)
    if not rows:
        await update.effective_message.reply_text("No referrals yet.")
        return
    lines = [
        f"{r['reference']} · {uk_time(r['created_at'])} · {referral_type_label(r['referral_type'])} · {r['status']}"
        for r in rows
    ]
    await update.effective_message.reply_text("Latest referrals:\n" + "\n".join(lines))


async def on_contacted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_staff_chat(update, context):
        await update.effective_message.reply_text(NOT_STAFF)
        return
    reference = (context.args[0] if context.args else "").strip().upper()
    if not PATTERN.fullmatch(reference):
        await update.effective_message.reply_text("Please give the reference, for example: /contacted COSP-7KQ2M")
        return
    if mark_contacted(context.bot_data["store"], reference, datetime.now(timezone.utc)):
        log.info("Referral %s marked contacted from the staff chat", reference)
        await update.effective_message.reply_text(f"{reference} is marked as contacted.")
    else:
        await update.effective_message.reply_text(f"There is no referral {reference}.")
