"""Rasa checks every action server reply with `jsonschema.validate()`, which first checks the schema
itself against its metaschema and builds a new validator: 22-30 ms per action call here, once or
twice a form step (rasa#11717, jsonschema#853). The same check, with the validator built once."""
from __future__ import annotations

from typing import Any, Dict, Text

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


_VALIDATOR = _prebuilt()


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
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
