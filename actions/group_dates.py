""""When and where is the next group?": answered from the service profile's upcoming groups.

A group whose first session has passed is never offered. With none coming up, the answer is the
reply that sends the parent to the team (phone and email), as before the profile had groups."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict, List, Optional, Text, Tuple
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import service_profile
from bot.service_profile import Group, ServiceProfile

UK = ZoneInfo("Europe/London")
SHOWN = 3  # at most this many upcoming groups in one reply (a phone screen)
ANSWERED_HERE = {"ask_next_group", "ask_where"}  # the questions whose answer depends on the groups


def today() -> date:
    return datetime.now(UK).date()


def describe(group: Group) -> str:
    """'Tuesday 12 January 2027, 10:00 to 12:00. At Example Family Hub, 1 Example Road, Grimsby.'"""
    place = f"{group.venue}, {group.address}" if group.address else group.venue
    return f"{group.day} {group.starts.day} {group.starts:%B %Y}, {group.time}. At {place}."


def reply(intent: str, profile: ServiceProfile, on: date) -> Tuple[str, Dict[str, Any]]:
    """The response name for `intent` (ask_next_group or ask_where) and what fills it."""
    upcoming = profile.upcoming(on)[:SHOWN]
    if not upcoming:
        return f"utter_{intent}", {}
    listed = "\n".join(f"- {describe(group)}" for group in upcoming)
    name = "utter_where_next_groups" if intent == "ask_where" else "utter_next_groups"
    return name, {"group_list": listed}


def respond(dispatcher: CollectingDispatcher, response: str, on: Optional[date] = None) -> None:
    """Utters `response`; the two group questions are answered from the profile as it is now."""
    intent = response[len("utter_"):]
    if intent in ANSWERED_HERE:
        name, values = reply(intent, service_profile.current(), on or today())
        dispatcher.utter_message(response=name, **values)
    else:
        dispatcher.utter_message(response=response)


class AnswerGroupDates(Action):
    def name(self) -> Text:
        return "action_answer_group_dates"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent = ((tracker.latest_message.get("intent") or {}).get("name")) or "ask_next_group"
        respond(dispatcher, f"utter_{intent if intent in ANSWERED_HERE else 'ask_next_group'}")
        return []
