"""What Rasa sends the action server on a form step, built without the two costs it does not need.

- The active loop: Rasa writes it with `dataclasses.asdict`, which deep-copies the loop's trigger
  message (the whole parse of the message that started the form) on every call, 5 % of a form step.
  The same fields are written as they are: the payload is turned into JSON at once and kept by no one.
- The domain: `validate_*` actions always get it (37 KB of JSON), and Rasa writes it out again on
  every call, though it does not change while the model is loaded. It is written once per domain
  and put into each request body as those bytes. The action server reads the same JSON values."""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Dict, Optional, Text, Tuple

import ujson
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.trackers import TrackerActiveLoop

NAME = "action_payload"
_STOCK_FORMAT = RemoteAction._action_call_format
_WRAPPED = "_cosp_action_payload"
_LOOP_FIELDS = tuple(field.name for field in fields(TrackerActiveLoop))
_domain_json: Optional[Tuple[Dict[Text, Any], bytes]] = None


def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> Dict[Text, Any]:
    loop = tracker.active_loop
    if not isinstance(loop, TrackerActiveLoop):
        return _STOCK_FORMAT(self, tracker, domain)
    saved, tracker.active_loop = loop, None  # current_state writes {} for no loop, cheaply
    try:
        result = _STOCK_FORMAT(self, tracker, domain)
    finally:
        tracker.active_loop = saved
    result["tracker"]["active_loop"] = {name: getattr(loop, name) for name in _LOOP_FIELDS}
    return result


def _written_domain(domain: Dict[Text, Any]) -> bytes:
    global _domain_json
    if _domain_json is None or _domain_json[0] is not domain:
        _domain_json = (domain, ujson.dumps(domain).encode("utf-8"))
    return _domain_json[1]


def body(payload: Dict[Text, Any]) -> Optional[bytes]:
    """The request body for an action call that carries a domain; None for any other payload."""
    domain = payload.get("domain") if isinstance(payload, dict) else None
    if not isinstance(domain, dict):
        return None
    rest = ujson.dumps({key: value for key, value in payload.items() if key != "domain"}).encode("utf-8")
    return rest[:-1] + (b"," if rest != b"{}" else b"") + b'"domain":' + _written_domain(domain) + b"}"


def _wrap(request: Any) -> Any:
    async def with_written_domain(*args: Any, **kwargs: Any) -> Any:
        written = body(kwargs.get("json"))
        if written is not None:
            del kwargs["json"]
            kwargs["data"] = written
        return await request(*args, **kwargs)

    setattr(with_written_domain, _WRAPPED, True)
    return with_written_domain


def install(agent: Any) -> None:
    RemoteAction._action_call_format = _action_call_format
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is not None and not getattr(endpoint.request, _WRAPPED, False):
        endpoint.request = _wrap(endpoint.request)


def uninstall() -> None:
    RemoteAction._action_call_format = _STOCK_FORMAT
