"""The parents' side of the Telegram bridge: each private chat is one conversation with the
assistant; messages and button taps are relayed to Rasa, its replies sent back."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Deque, Dict, List, Set

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import service_profile
from bot.telegram.rasa_client import RasaClient, RasaUnavailable
from bot.telegram.render import button_title, keyboard, payload_of, split_text

log = logging.getLogger(__name__)

PRIVACY = (
    "Privacy: what you type here is kept securely by the NHS team that runs the COSP groups, and is "
    "only shared with them if you make a referral and agree. This chat is not monitored by staff."
)


def try_again() -> str:
    return ("Sorry, I can't answer right now. Please try again in a few minutes, or phone the team on "
            f"{service_profile.current().phone}. If you or a baby are in danger, call 999.")


TEXT_ONLY = "I can only read typed messages, so I can't open stickers, photos, voice notes or files. Please type your message or tap a button."
EDITED = "I can't see changes to messages already sent. Please send it again as a new message."
PRIVATE_ONLY = "To keep conversations private, I only chat one to one. Please message me directly."
RESTARTED = "OK, we've started again. Your earlier answers have been cleared."
SEND_ATTEMPTS = 4
SEEN_UPDATES = 2000


def sender_id(chat_id: int) -> str:
    return f"telegram:{chat_id}"


async def drop_repeated_updates(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The same update delivered twice (a webhook retry, a restart mid-batch) is handled once."""
    order: Deque[int] = context.bot_data.setdefault("seen_order", deque())
    seen: Set[int] = context.bot_data.setdefault("seen", set())
    if update.update_id in seen:
        raise ApplicationHandlerStop
    seen.add(update.update_id)
    order.append(update.update_id)
    if len(order) > SEEN_UPDATES:
        seen.discard(order.popleft())


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, **kwargs: Any) -> None:
    """Sends with retries: Telegram's 429s are waited out by the rate limiter, other failures retried here."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await context.bot.send_message(chat_id, text, **kwargs)
            return
        except RetryAfter:
            await asyncio.sleep(attempt)  # the rate limiter already waited retry_after and retried
        except (TimedOut, NetworkError):
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(attempt)


async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat_id = update.effective_chat.id
    rasa: RasaClient = context.bot_data["rasa"]
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except (TimedOut, NetworkError):
        pass  # only a courtesy
    try:
        replies = await rasa.send(sender_id(chat_id), text)
    except RasaUnavailable as error:
        log.warning("Rasa unavailable (%s); the parent was asked to try again", error)
        await send(context, chat_id, try_again())
        return
    await send_replies(context, chat_id, replies)


async def send_replies(context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: List[Dict[str, Any]]) -> None:
    payloads = context.bot_data.setdefault("payloads", {})
    for reply in replies:
        parts = split_text(reply.get("text") or "") or ([""] if reply.get("buttons") else [])
        markup = keyboard(reply.get("buttons") or [], payloads)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await send(context, chat_id, part or "Please choose:", reply_markup=markup if last else None,
                       disable_web_page_preview=True)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await relay(update, context, update.effective_message.text or "")


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    message = query.message
    answered: Set[int] = context.chat_data.setdefault("answered", set())
    payload = payload_of(query.data or "", context.bot_data.setdefault("payloads", {}))
    if message is None or message.message_id in answered:
        await query.answer("You've already answered that one.")
        return
    if payload is None:
        await query.answer("That button has expired: please type your answer.")
        return
    answered.add(message.message_id)
    await query.answer()
    chosen = button_title(message.reply_markup, query.data)
    try:  # show the answer chosen, and take the keyboard away so it can't be tapped again
        await query.edit_message_text(f"{message.text}\n\n› {chosen or payload}", disable_web_page_preview=True)
    except (BadRequest, NetworkError):
        pass
    await relay(update, context, payload)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(context, update.effective_chat.id, PRIVACY)
    await relay(update, context, "/greet")


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await relay(update, context, "/help")


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await relay(update, context, "/stop")


async def on_restart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await context.bot_data["rasa"].send(sender_id(update.effective_chat.id), "/restart")
    except RasaUnavailable:
        await send(context, update.effective_chat.id, try_again())
        return
    context.chat_data.pop("answered", None)
    await send(context, update.effective_chat.id, RESTARTED)
    await relay(update, context, "/greet")


async def on_other_content(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(context, update.effective_chat.id, TEXT_ONLY)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(context, update.effective_chat.id, EDITED)


async def on_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(context, update.effective_chat.id, PRIVATE_ONLY)
