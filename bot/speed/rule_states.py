"""RulePolicy matches its rules against the states of the whole conversation, and Rasa rebuilds those
states from scratch at every prediction: it replays every event into a fresh tracker and reads the
state before each action. After a message it does so twice (once with the message's text, once with
its intent). That is 1.3 ms a time at 90 events, and it grows with the conversation.

Here each conversation's replay is kept: the next prediction replays only the events added since,
when the events before them are the very same objects (anything rewound, restarted or read afresh
from the store starts a new replay), and asked again with no new event, it replays nothing. The states are built as Rasa builds them
(Domain.get_active_state on the tracker replayed up to each action, then _clean_state), and each
caller gets its own copy, as Rasa's featurizer edits them."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.speed.lean_classifier import components

NAME = "rule_states"
KEEP = 1000  # conversations whose replay is kept, the least recently predicted dropped first


@dataclass
class _Replay:
    tracker: DialogueStateTracker  # replayed up to the end of `events`
    events: List[Event] = field(default_factory=list)  # the applied events replayed
    states: List[State] = field(default_factory=list)  # the state before each action in `events`
    now: State = field(default_factory=dict)  # the state after them
    seen: List[Event] = field(default_factory=list)  # the conversation's events at the last call


def _copy(state: State) -> State:
    return {kind: dict(sub_state) for kind, sub_state in state.items()}


class ConversationStates:
    """Stands in for a featurizer's `_create_states` (Rasa's `tracker.past_states`)."""

    def __init__(self, stock: Callable[..., List[State]], keep: int = KEEP) -> None:
        self.stock = stock
        self.keep = keep
        self._replays: "OrderedDict[Tuple[str, int, bool], _Replay]" = OrderedDict()

    def __call__(self, tracker: DialogueStateTracker, domain: Domain, omit_unset_slots: bool = False,
                 ignore_rule_only_turns: bool = False, rule_only_data: Optional[Dict[str, Any]] = None) -> List[State]:
        if ignore_rule_only_turns:  # never for RulePolicy; Rasa's own way for any other
            return self.stock(tracker, domain, omit_unset_slots=omit_unset_slots,
                              ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data)
        key = (tracker.sender_id, id(domain), omit_unset_slots)
        replay = self._replays.pop(key, None)
        if replay is None or not _same(tracker.events, replay.seen):  # else: asked again, nothing new
            replay = self._extended(replay, tracker, domain, omit_unset_slots)
        self._replays[key] = replay
        while len(self._replays) > self.keep:
            self._replays.popitem(last=False)
        return [_copy(state) for state in replay.states] + [_copy(replay.now)]

    @staticmethod
    def _extended(replay: Optional[_Replay], tracker: DialogueStateTracker, domain: Domain,
                  omit_unset_slots: bool) -> _Replay:
        applied = tracker.applied_events()
        if replay is None or not _same(applied[:len(replay.events)], replay.events):
            replay = _Replay(tracker.init_copy())
        for event in applied[len(replay.events):]:
            if isinstance(event, ActionExecuted):
                replay.states.append(domain._clean_state(domain.get_active_state(replay.tracker, omit_unset_slots)))
            replay.tracker.update(event)
        replay.events = applied
        replay.now = domain._clean_state(domain.get_active_state(replay.tracker, omit_unset_slots))
        replay.seen = list(tracker.events)
        return replay


def _same(events: Iterable[Event], kept: List[Event]) -> bool:
    """The very same event objects, in the same order."""
    events = list(events)
    return len(events) == len(kept) and all(a is b for a, b in zip(events, kept))


def featurizers(agent: Any) -> List[TrackerFeaturizer]:
    return [c.featurizer for c in components(agent) if isinstance(c, RulePolicy) and c.featurizer is not None]


def install(agent: Any) -> None:
    for featurizer in featurizers(agent):
        featurizer._create_states = ConversationStates(featurizer._create_states)
