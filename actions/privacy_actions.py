"""Parents in control, from the chat: "delete my data" and "withdraw my referral"."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import clear_referral
from actions.delivery.store import referrals_for_conversation
from actions.delivery.withdrawal import WITHDRAWN, request_withdrawal
from actions.privacy.erasure import erase_now, withdraw_before_delivery
from actions.submission import referral_store


class DeleteMyData(Action):
    def name(self) -> Text:
        return "action_delete_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        erased = erase_now(referral_store(), tracker.sender_id, datetime.now(timezone.utc))
        if erased.referrals_deleted:
            dispatcher.utter_message(response="utter_deleted_unsent_referral", references=", ".join(erased.referrals_deleted))
        if erased.referrals_kept_by_staff:
            dispatcher.utter_message(response="utter_sent_referral_stays", references=", ".join(erased.referrals_kept_by_staff))
        dispatcher.utter_message(response="utter_conversation_will_be_deleted")
        return clear_referral()


class WithdrawReferral(Action):
    def name(self) -> Text:
        return "action_withdraw_referral"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        store = referral_store()
        active = [r for r in referrals_for_conversation(store, tracker.sender_id) if r["status"] != WITHDRAWN]
        if not active:
            dispatcher.utter_message(response="utter_nothing_to_withdraw")
            return []
        latest = active[0]
        if withdraw_before_delivery(store, latest["id"]):
            dispatcher.utter_message(response="utter_withdrawn_before_sent", reference=latest["reference"])
        else:
            request_withdrawal(store, latest["id"], datetime.now(timezone.utc))
            dispatcher.utter_message(response="utter_withdrawn_staff_told", reference=latest["reference"])
        return []
