"""The action that runs when the referral form ends: stores a confirmed referral and its
delivery job in one transaction, and only then tells the parent it was sent."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions.conversation import clear_referral
from actions.delivery.store import ReferenceTaken, make_engine, save_referral
from actions.referral import questions as q
from actions.referral.form import CONSENT_GIVEN_AT, CONSENT_VERSION_SLOT
from actions.referral.reference import new_reference
from actions.referral.result import Invalid
from actions.referral.signposting import kinds_signposted
from actions.referral.submission import build_record, submission_key
from bot.service_profile import outside_catchment
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)
_REFERENCE_TRIES = 5


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def referral_store() -> Engine:
    return make_engine(settings().database_url)


def staff_channels() -> tuple:
    """Email always; the staff Telegram chat too when it is configured."""
    told_on_telegram = settings().telegram_bot_token and settings().telegram_staff_chat_id
    return ("email", "telegram") if told_on_telegram else ("email",)


class SubmitReferral(Action):
    def name(self) -> Text:
        return "action_submit_referral"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        names = [*q.REFERRAL_SLOTS, CONSENT_VERSION_SLOT, CONSENT_GIVEN_AT]
        values: Dict[str, Any] = {name: tracker.get_slot(name) for name in names}
        if values.get(q.REVIEW) != "send":
            return clear_referral()  # the referral ended early; the parent has been told why
        key = submission_key(tracker.sender_id, values.get(CONSENT_GIVEN_AT))
        today = datetime.now(timezone.utc).astimezone().date()
        safety_kinds = kinds_signposted(tracker.events)
        outside = outside_catchment(values.get(q.POSTCODE))
        for _ in range(_REFERENCE_TRIES):
            record = build_record(
                values, new_reference(), key, today, conversation_id=tracker.sender_id, safety_kinds=safety_kinds,
                outside_catchment=outside,
            )
            if isinstance(record, Invalid):
                logger.warning("Referral held back: the answer to %s failed its check again", record.reason)
                return [SlotSet(record.reason, None), SlotSet(q.REVIEW, None), FollowupAction("referral_form")]
            try:
                reference = save_referral(referral_store(), record, staff_channels())
                break
            except ReferenceTaken:
                continue
            except SQLAlchemyError as error:
                logger.error("Referral could not be stored (%s); the parent was asked to try again", type(error).__name__)
                dispatcher.utter_message(response="utter_referral_not_saved")
                return [SlotSet(q.REVIEW, None), FollowupAction("referral_form")]
        else:
            dispatcher.utter_message(response="utter_referral_not_saved")
            return [SlotSet(q.REVIEW, None), FollowupAction("referral_form")]
        logger.info("Referral %s stored with its delivery job", reference)
        dispatcher.utter_message(response="utter_referral_sent", reference=reference)
        return [*clear_referral(), SlotSet("reference", reference)]
