"""A parent asking about their referral is told its status: only referrals made in this same
conversation are ever looked up."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.delivery.email import uk_time
from actions.delivery.store import CONTACTED, referrals_for_conversation
from actions.referral import choices
from actions.submission import referral_store


class ReferralStatus(Action):
    def name(self) -> Text:
        return "action_referral_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        found = referrals_for_conversation(referral_store(), tracker.sender_id)
        if not found:
            dispatcher.utter_message(response="utter_no_referral_here")
            return []
        tell_status(dispatcher, found[0])
        return []


def tell_status(dispatcher: CollectingDispatcher, latest: Dict[str, Any]) -> None:
    response = "utter_referral_contacted" if latest["status"] == CONTACTED else "utter_referral_received"
    dispatcher.utter_message(response=response, reference=latest["reference"], received=uk_time(latest["created_at"]))


class AnswerHowToRefer(Action):
    """"Send referral" again after it was sent (its reply lost, or tapped twice) reads as "how do I
    refer?". The parent is told it has been received, with its reference, not to refer again."""

    def name(self) -> Text:
        return "action_answer_how_to_refer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        sent = choices.REVIEW.exact(text) == "send" and referrals_for_conversation(referral_store(), tracker.sender_id)
        if sent:
            tell_status(dispatcher, sent[0])
        else:
            dispatcher.utter_message(response="utter_ask_how_to_refer")
        return []
