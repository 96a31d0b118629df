"""Rasa-facing side of the referral form: validation and the questions that need code to ask."""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.referral import questions as q
from actions.referral.consent import consent_text
from actions.referral.form import FAILED_ATTEMPTS, changeable_fields, is_choice, is_stuck, take_answer
from actions.referral import choices
from actions.referral.volunteered import details_in, noted
from actions import group_dates
from actions.responses import responses
from bot.service_profile import filled, outside_catchment

QUESTION_CONFIDENCE = 0.5  # a programme question asked instead of an answer is answered from here up


def _slot_values(tracker: Tracker) -> Dict[str, Any]:
    return {name: tracker.get_slot(name) for name in [*q.REFERRAL_SLOTS, FAILED_ATTEMPTS]}


def programme_question(tracker: Tracker, domain: DomainDict) -> Optional[str]:
    """The programme-question intent of the latest message (an `ask_*` intent with its own answer),
    when the classifier is confident of it."""
    intent = tracker.latest_message.get("intent") or {}
    name, confidence = intent.get("name") or "", intent.get("confidence") or 0.0
    answered = name.startswith("ask_") and f"utter_{name}" in responses(domain)
    return name if answered and confidence >= QUESTION_CONFIDENCE else None


def _said_before(tracker: Tracker) -> bool:
    """The latest message repeats the one before it word for word."""
    texts = [" ".join((e.get("text") or "").lower().split()) for e in reversed(tracker.events) if e.get("event") == "user"]
    return len(texts) >= 2 and bool(texts[0]) and texts[0] == texts[1]


class ValidateReferralForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_referral_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        return q.required_slots(_slot_values(tracker))

    async def extract_referrer_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """"I'm a health visitor and want to refer a family" already answers the first question."""
        latest = tracker.latest_message
        if tracker.get_slot(q.REFERRER_TYPE) or (latest.get("intent") or {}).get("name") != "start_referral":
            return {}
        said = choices.REFERRER_TYPE.match(latest.get("text") or "")
        return {q.REFERRER_TYPE: said} if said else {}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        candidates = tracker.slots_to_validate()
        now = datetime.now(timezone.utc)
        if requested not in candidates:
            events: List[EventType] = [SlotSet(name, None) for name in candidates]  # only the question asked is answered
            if (tracker.latest_message.get("intent") or {}).get("name") in ("start_referral", "inform"):
                # the message that started the referral may already hold its details
                values = {**_slot_values(tracker), **{name: None for name in candidates}}
                events += self._volunteered(dispatcher, tracker, values, now, skip="")
            return events
        outcome = take_answer(
            requested,
            candidates[requested],
            _slot_values(tracker),
            today=now.astimezone().date(),
            now=now,
            question_intent=programme_question(tracker, domain),
            said_before=_said_before(tracker),
        )
        for response in outcome.responses:
            group_dates.respond(dispatcher, response)
        events: List[EventType] = [SlotSet(name, value) for name, value in outcome.slots.items()]
        tracker.add_slots(events)
        if outcome.ends_referral:
            events.append(SlotSet("requested_slot", None))
        else:
            events += self._volunteered(dispatcher, tracker, _slot_values(tracker), now, skip=requested)
        return events

    @staticmethod
    def _volunteered(
        dispatcher: CollectingDispatcher, tracker: Tracker, values: Dict[str, Any], now: datetime, skip: str
    ) -> List[EventType]:
        """Details the message gives for questions not asked yet: kept, said back, never asked for."""
        found = details_in(tracker.latest_message.get("text") or "", values, now.astimezone().date(), skip=skip)
        if found:
            dispatcher.utter_message(text=noted(found))
        events: List[EventType] = [SlotSet(name, value) for name, value in found.items()]
        tracker.add_slots(events)
        return events

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        if tracker.get_slot("requested_slot") is None:
            return None  # the answer ended the referral: keep the form's stop signal
        return await super().next_requested_slot(dispatcher, tracker, domain)


def stuck(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, buttons: List[Dict]) -> bool:
    """Instead of a question's third showing in a row: what the form has so far, the answers once more
    (or, for a typed answer, another try) and the way out: stop, or the team's phone and email. True if said."""
    if not is_stuck(tracker.get_slot(FAILED_ATTEMPTS)):
        return False
    given = [f"- {label}: {answer}" for label, answer in q.answers(_slot_values(tracker)) if answer != "not asked"]
    so_far = "So far I have:\n" + "\n".join(given) if given else "I don't have any of your answers yet."
    typed = not is_choice(tracker.get_slot("requested_slot") or "")
    offer = filled(responses(domain)["utter_stuck_offer_typed" if typed else "utter_stuck_offer"][0]["text"])
    dispatcher.utter_message(text=f"{so_far}\n\n{offer}", buttons=buttons)
    return True


class AskQuestion(Action, ABC):
    """Asks a referral question with its response (utter_ask_<slot>), unless the parent is stuck on it.
    Abstract: one subclass per question (ASK_ACTIONS), each registered by the action server."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        response = f"utter_ask_{self.slot}"
        buttons = next((v.get("buttons") for v in responses(domain).get(response, []) if v.get("buttons")), None)
        if not stuck(dispatcher, tracker, domain, buttons or []):
            dispatcher.utter_message(response=response)
        return []


ASKED_BY_RESPONSE = [
    q.REFERRER_TYPE, q.REFERRER_NAME, q.REFERRER_ROLE, q.REFERRER_ORGANISATION, q.REFERRER_CONTACT, q.FAMILY_AGREED,
    q.CAREGIVER_NAME, q.RELATIONSHIP, q.CHILD_AGE, q.HELP_WITH, q.PHONE, q.EMAIL, q.PREFERRED_CONTACT,
    q.SAFE_TO_LEAVE_MESSAGE, q.POSTCODE, q.EXTRA_SUPPORT, q.ACCESS_NEEDS, q.ACCESS_NEEDS_DETAILS,
]
ASK_ACTIONS = {slot: type(f"Ask_{slot}", (AskQuestion,), {"slot": slot}) for slot in ASKED_BY_RESPONSE}


class AskConsent(Action):
    def name(self) -> Text:
        return "action_ask_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if stuck(dispatcher, tracker, domain, choices.buttons(choices.CONSENT)):
            return []
        if outside_catchment(tracker.get_slot(q.POSTCODE)):
            dispatcher.utter_message(response="utter_outside_catchment")
        dispatcher.utter_message(
            text=consent_text(tracker.get_slot(q.REFERRER_TYPE)), buttons=choices.buttons(choices.CONSENT)
        )
        return []


class AskReview(Action):
    """Shows every answer before anything is sent."""

    def name(self) -> Text:
        return "action_ask_review"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if stuck(dispatcher, tracker, domain, choices.buttons(choices.REVIEW)):
            return []
        lines = [f"{label}: {answer}" for label, answer in q.answers(_slot_values(tracker))]
        dispatcher.utter_message(
            text="Please check your answers:\n" + "\n".join(lines), buttons=choices.buttons(choices.REVIEW)
        )
        return []


class AskFieldToChange(Action):
    def name(self) -> Text:
        return "action_ask_field_to_change"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        fields = changeable_fields(_slot_values(tracker))
        dispatcher.utter_message(
            text="Which answer would you like to change?",
            buttons=[{"title": title, "payload": title} for title in fields.values()],
        )
        return []


class InformOutsideForm(Action):
    """Details typed with no referral running ("I'm a health visitor, I'd like to refer Jo, 4 months,
    DN32 9AB…"): two or more of them start the referral with them kept; otherwise say how it works."""

    def name(self) -> Text:
        return "action_inform_outside_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        today = datetime.now(timezone.utc).astimezone().date()
        if len(details_in(tracker.latest_message.get("text") or "", {}, today)) >= 2:
            dispatcher.utter_message(response="utter_referral_intro")
            return [FollowupAction("referral_form")]
        dispatcher.utter_message(response="utter_inform_outside_form")
        return []
