"""The outcome of checking one answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Valid:
    value: Any


@dataclass(frozen=True)
class Invalid:
    reason: str  # names the domain response `utter_invalid_<reason>` that explains what was wrong


Checked = Union[Valid, Invalid]
