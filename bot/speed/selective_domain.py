"""Rasa sends the whole domain (37 KB of JSON) with every action call unless the action endpoint sets
`enable_selective_domain`. Our actions that look up responses read domain.yml themselves
(actions/responses.py); `validate_*` actions always get the domain."""
from __future__ import annotations

from typing import Any

from rasa.core.actions.constants import SELECTIVE_DOMAIN

NAME = "selective_domain"


def install(agent: Any) -> None:
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is not None:
        endpoint.kwargs[SELECTIVE_DOMAIN] = True

