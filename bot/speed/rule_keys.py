"""RulePolicy finds the rules that fit a conversation by checking every rule (105 here) against its
latest states, at every prediction, parsing and reversing each rule's states again for each check.

Yet what decides it is small: a rule reads only the last states it is as long as (3 at most here),
and of each state only the keys its rules name (here the previous action's name, the intent and the
active loop) and whether it follows an action. Here that handful of values is the key to the rules
found last time for the same values; anything else is looked up Rasa's way and kept (a bounded set:
the values are the model's own names, never what a parent typed)."""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Callable, Dict, FrozenSet, Hashable, List, Set, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import State

from bot.speed.lean_classifier import components

NAME = "rule_keys"
KEEP = 4096  # decisions kept per policy, the least recently used dropped first


class _Shape:
    """What one lookup's rules read: their longest length, and the keys they name per state type."""

    def __init__(self, lookup: Dict[str, Any]) -> None:
        names: Dict[str, Set[str]] = {}
        longest = 0
        for rule_key in lookup:
            states = json.loads(rule_key)
            longest = max(longest, len(states))
            for state in states:
                for kind, sub_state in state.items():
                    names.setdefault(kind, set()).update(sub_state)
        self.longest = longest
        self.read = [(kind, sorted(keys)) for kind, keys in sorted(names.items())]

    def key(self, states: List[State]) -> Tuple[Hashable, ...]:
        """What the rules read of `states` (a rule reads only as many of the latest as it is long)."""
        latest = states[max(0, len(states) - self.longest):] if self.longest else []
        return tuple(
            (bool(state.get(PREVIOUS_ACTION)),
             tuple(tuple(_hashable(state.get(kind, {}).get(name)) for name in names) for kind, names in self.read))
            for state in latest
        )


def _hashable(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value


class KeptRuleKeys:
    """Stands in for RulePolicy._get_possible_keys(lookup, states)."""

    def __init__(self, stock: Callable[[Dict[str, Any], List[State]], Set[str]], keep: int = KEEP) -> None:
        self.stock = stock
        self.keep = keep
        self._shapes: Dict[int, Tuple[Dict[str, Any], _Shape]] = {}
        self._found: "OrderedDict[Tuple[int, Hashable], FrozenSet[str]]" = OrderedDict()

    def _shape(self, lookup: Dict[str, Any]) -> _Shape:
        kept = self._shapes.get(id(lookup))
        if kept is None or kept[0] is not lookup:
            kept = self._shapes[id(lookup)] = (lookup, _Shape(lookup))
        return kept[1]

    def __call__(self, lookup: Dict[str, Any], states: List[State]) -> Set[str]:
        try:
            key = (id(lookup), self._shape(lookup).key(states))
            hash(key)
        except TypeError:  # a value that cannot be a key: Rasa's way
            return self.stock(lookup, states)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = frozenset(self.stock(lookup, states))
            if len(self._found) > self.keep:
                self._found.popitem(last=False)
        else:
            self._found.move_to_end(key)
        return set(found)


def policies(agent: Any) -> List[RulePolicy]:
    return [c for c in components(agent) if isinstance(c, RulePolicy)]


def install(agent: Any) -> None:
    for policy in policies(agent):
        policy._get_possible_keys = KeptRuleKeys(policy._get_possible_keys)
