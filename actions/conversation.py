"""Actions that steer the conversation around the referral: why we ask, and stopping."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.referral import questions as q
from actions.referral.form import CONSENT_GIVEN_AT, CONSENT_VERSION_SLOT, FAILED_ATTEMPTS
from actions.responses import responses

RESET_SLOTS = [*q.REFERRAL_SLOTS, FAILED_ATTEMPTS, CONSENT_VERSION_SLOT, CONSENT_GIVEN_AT, "requested_slot"]


def clear_referral() -> List[EventType]:
    return [SlotSet(name, None) for name in RESET_SLOTS]


class ExplainQuestion(Action):
    """Answers "why do you ask?" for the question the form is waiting on."""

    def name(self) -> Text:
        return "action_explain_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        response = f"utter_why_{requested}"
        if requested and response in responses(domain):
            dispatcher.utter_message(response=response)
        else:
            dispatcher.utter_message(response="utter_why_outside_form")
        return []


class CancelReferral(Action):
    def name(self) -> Text:
        return "action_cancel_referral"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_referral_cancelled")
        return [ActiveLoop(None), *clear_referral()]
