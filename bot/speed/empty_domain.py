"""Before each message Rasa asks whether its domain is empty (`Domain.is_empty`), and answers by
building a whole new empty domain from nothing to compare with: 3 % of a question turn. The empty
domain is built once, when the server starts, and each question compares with that."""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional

from rasa.shared.core.domain import Domain

NAME = "empty_domain"
_STOCK = Domain.is_empty
_empty: Optional[Dict[str, Any]] = None


def _is_empty(self: Domain) -> bool:
    return self.as_dict() == _empty


def install(agent: Any = None) -> None:
    global _empty
    _empty = copy.deepcopy(Domain.empty().as_dict())
    Domain.is_empty = _is_empty


def uninstall() -> None:
    Domain.is_empty = _STOCK
