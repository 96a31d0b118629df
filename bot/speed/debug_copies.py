"""Rasa 3.6 deep-copies what it logs at debug level (the events of every action, the form's
candidate slots, the latest message, the rule states) as it calls the logger, so the copy is made
on every turn whether or not the line is written: 3.6 % of a form step. In the three modules that do
it (every `copy` they use is one of those log lines), a deep copy is made only when debug lines
are written (`--debug`, LOG_LEVEL=DEBUG); otherwise the value is handed to the logger as it is,
which drops it."""
from __future__ import annotations

import copy
from types import ModuleType
from typing import Any, Optional

import rasa
import structlog
from rasa.core import processor
from rasa.core.actions import forms
from rasa.core.policies import rule_policy

NAME = "debug_copies"
MODULES = (processor, forms, rule_policy)


def debug_is_written() -> bool:
    """False only when structlog's logger drops debug lines (a filtering logger's no-op)."""
    wrapper = structlog.get_config().get("wrapper_class")
    return getattr(getattr(wrapper, "debug", None), "__name__", "") != "_nop"


class _CopyForLogs(ModuleType):
    def __init__(self) -> None:
        super().__init__("copy")

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Optional[dict] = None) -> Any:
        return copy.deepcopy(value, memo) if debug_is_written() else value


FOR_LOGS = _CopyForLogs()


def install(agent: Any = None) -> None:
    if rasa.__version__.startswith("3.6."):  # the modules read for this; another Rasa may copy for itself
        for module in MODULES:
            if getattr(module, "copy", None) is copy:
                module.copy = FOR_LOGS


def uninstall() -> None:
    for module in MODULES:
        if getattr(module, "copy", None) is FOR_LOGS:
            module.copy = copy
