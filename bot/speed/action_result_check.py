"""Rasa checks every action server reply with `jsonschema.validate()`, which first checks the schema
itself against its metaschema and builds a new validator: 22-30 ms per action call here, once or
twice a form step (rasa#11717, jsonschema#853). The same check, with the validator built once.

Even built once, the check tried each event against all 23 event kinds of Rasa's schema (`oneOf`),
2 ms a form step. Each kind fixes the event's name (`"event": {"const": ...}`), so an event can
only ever match the kind its name gives: a reply is checked event by event against that one kind,
which accepts exactly what the whole schema accepts. A reply it does not accept goes through the
whole schema, for Rasa's own error."""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from jsonschema import exceptions, validators
from rasa.shared.constants import DOCS_BASE_URL
from rasa.core.actions.action import RemoteAction

NAME = "action_result_check"
_STOCK = RemoteAction._validate_action_result


def _prebuilt() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, as validate() does on every call
    return cls(schema)


def _by_kind(validator: Any) -> Optional[Dict[str, Any]]:
    """A validator per event name, or None if Rasa's schema is not one kind per name."""
    event = validator.schema["properties"]["events"]["items"]
    common = {key: value for key, value in event.items() if key != "oneOf"}
    kinds: Dict[str, Any] = {}
    for kind in event.get("oneOf", []):
        name = kind.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in kinds:
            return None
        kinds[name] = type(validator)({"allOf": [common, kind]})
    return kinds or None


_VALIDATOR = _prebuilt()
_KINDS = _by_kind(_VALIDATOR)
_SHELL = type(_VALIDATOR)({**_VALIDATOR.schema, "properties": {**_VALIDATOR.schema["properties"], "events": {"type": "array"}}})


def _accepted(result: Any) -> bool:
    if _KINDS is None or not _SHELL.is_valid(result):
        return False
    for event in result.get("events") or []:
        kind = _KINDS.get(event.get("event")) if isinstance(event, dict) and isinstance(event.get("event"), str) else None
        if kind is None or not kind.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if _accepted(result):
        return True
    error = exceptions.best_match(_VALIDATOR.iter_errors(result))  # what validate() raises, and how
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install(agent: Any = None) -> None:
    RemoteAction._validate_action_result = _validate_action_result


def uninstall() -> None:
    """Back to Rasa's own check (for tests that compare the two)."""
    RemoteAction._validate_action_result = _STOCK
