"""Rasa copies a conversation by starting an empty tracker and replaying every event into it
(`DialogueStateTracker.copy`, before every action is run), and a form step builds two more trackers
the same way from all the session's events (`FormAction._temporary_tracker`, for the validation and
the next question). Replaying the events rebuilds the state the tracker already holds: Rasa requires
that a tracker's state is exactly what its events make it (trackers.py: "MUST be re-creatable by
processing all the events"). So the copy takes that state as it is: the same events, each slot
copied as Rasa copies slots, the form's state copied, the rest of the same values. The form's
temporary tracker is such a copy with its new events added, as Rasa adds them.

Where a tracker could differ from its replay (a capped event history, slots made on demand, a
session restarted inside the events, slots other than the domain's, a tracker class of its own),
Rasa's own replay is used."""
from __future__ import annotations

import copy
from collections import deque
from typing import Any, List, Optional

from rasa.core.actions.forms import FormAction
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, Restarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

NAME = "tracker_copy"
_STOCK_COPY = DialogueStateTracker.copy
_STOCK_TEMPORARY = FormAction._temporary_tracker
# every attribute a new tracker has (checked against Rasa's own when installed); others a tracker has
# been given (the store's own marks) are not copied, as Rasa's copy does not have them either
FIELDS = frozenset({"_max_event_history", "events", "sender_id", "slots", "sender_source", "is_rule_tracker",
                    "_paused", "followup_action", "latest_action", "latest_message", "latest_bot_utterance",
                    "active_loop", "model_id", "assistant_id"})


def _copyable(tracker: DialogueStateTracker) -> bool:
    return (type(tracker) is DialogueStateTracker and tracker._max_event_history is None
            and type(tracker.slots) is dict and FIELDS <= vars(tracker).keys())


def duplicate(tracker: DialogueStateTracker, sender_id: Optional[str], is_rule_tracker: bool) -> DialogueStateTracker:
    """A new tracker in the state `tracker` is in, with the same events (not yet checked: see callers)."""
    loop = tracker.active_loop
    latest_action = tracker.latest_action
    new = DialogueStateTracker.__new__(DialogueStateTracker)
    new.__dict__.update(
        _max_event_history=None, events=deque(tracker.events), sender_id=sender_id,
        slots={name: copy.copy(slot) for name, slot in tracker.slots.items()}, sender_source=None,
        is_rule_tracker=is_rule_tracker, _paused=tracker._paused, followup_action=tracker.followup_action,
        latest_action=dict(latest_action) if latest_action is not None else None,
        latest_message=tracker.latest_message, latest_bot_utterance=tracker.latest_bot_utterance,
        active_loop=copy.copy(loop) if loop is not None else None, model_id=None, assistant_id=None)
    return new


def _copy(self: DialogueStateTracker) -> DialogueStateTracker:
    if not _copyable(self):
        return _STOCK_COPY(self)
    return duplicate(self, self.sender_id or DEFAULT_SENDER_ID, self.is_rule_tracker)


def _temporary_tracker(self: FormAction, current_tracker: DialogueStateTracker, additional_events: List[Event],
                       domain: Domain) -> DialogueStateTracker:
    if (not _copyable(current_tracker) or current_tracker.is_rule_tracker
            or list(current_tracker.slots) != [slot.name for slot in domain.slots]
            or any(isinstance(event, Restarted) for event in current_tracker.events)):
        return _STOCK_TEMPORARY(self, current_tracker, additional_events, domain)
    tracker = duplicate(current_tracker, current_tracker.sender_id, False)
    for event in [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)), ActionExecuted(self.name()),
                  *additional_events]:
        tracker.update(event, None)
    return tracker


def _fields_are_rasas() -> bool:
    return vars(DialogueStateTracker("check", [])).keys() == FIELDS


def install(agent: Any = None) -> None:
    if _fields_are_rasas():
        DialogueStateTracker.copy = _copy
        FormAction._temporary_tracker = _temporary_tracker


def uninstall() -> None:
    DialogueStateTracker.copy = _STOCK_COPY
    FormAction._temporary_tracker = _STOCK_TEMPORARY
