"""What a Rasa server counts, for Prometheus at `/webhooks/metrics/` (loopback only): turns,
fallbacks, safety replies by kind, referrals submitted, referral forms left by question.

Counts only, never text. Rasa streams every event it saves to its event broker (endpoints*.yml
`event_broker:`); `MetricsBroker` reads them and keeps, per conversation, just enough state to tell
a form left from one sent (the question it was on, whether a reference was given). Each Rasa server
counts its own conversations; Prometheus adds the servers up."""
from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from rasa.core.brokers.broker import EventBroker
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
TURNS = Counter("cosp_turns", "Messages from parents and professionals", registry=REGISTRY)
FALLBACKS = Counter("cosp_fallbacks", "Messages the assistant did not understand", registry=REGISTRY)
SAFETY_REPLIES = Counter("cosp_safety_replies", "Safety replies given, by kind of risk", ["kind"], registry=REGISTRY)
SUBMITTED = Counter("cosp_referrals_submitted", "Referrals stored and given a reference", registry=REGISTRY)
ABANDONED = Counter("cosp_form_abandoned", "Referral forms left without a referral, by the question they were on",
                    ["question"], registry=REGISTRY)

FORM = "referral_form"
FALLBACK_INTENT = "nlu_fallback"
SAFETY_REPLY = "utter_safety"
GENERAL = "general"  # a safety reply with no recognised kind
KEPT = 10_000  # conversations whose form state is remembered (the oldest forgotten first)


@dataclass
class _Conversation:
    risk_kind: str = GENERAL
    question: Optional[str] = None  # the referral question being asked
    in_form: bool = False
    form_ended_at: Optional[str] = None  # set when the form stops, until its outcome is known


class ConversationCounts:
    """Turns a stream of Rasa event dicts (with sender_id) into the counters above."""

    def __init__(self, kept: int = KEPT) -> None:
        self._conversations: "OrderedDict[str, _Conversation]" = OrderedDict()
        self._kept = kept

    def _state(self, sender: str) -> _Conversation:
        state = self._conversations.pop(sender, None) or _Conversation()
        self._conversations[sender] = state
        while len(self._conversations) > self._kept:
            self._conversations.popitem(last=False)
        return state

    def observe(self, event: Dict[Text, Any]) -> None:
        kind, state = event.get("event"), self._state(str(event.get("sender_id")))
        if kind == "user":
            TURNS.inc()
            parse = event.get("parse_data") or {}
            if (parse.get("intent") or {}).get("name") == FALLBACK_INTENT:
                FALLBACKS.inc()
            risk = [e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "risk_kind"]
            state.risk_kind = str(risk[0]) if risk and risk[0] else GENERAL
        elif kind == "action":
            name = event.get("name")
            if name == SAFETY_REPLY:
                SAFETY_REPLIES.labels(kind=state.risk_kind).inc()
            elif name == "action_listen" and state.form_ended_at:
                ABANDONED.labels(question=state.form_ended_at).inc()
                state.form_ended_at = None
        elif kind == "slot":
            if event.get("name") == "requested_slot" and event.get("value"):
                state.question = str(event["value"])
            elif event.get("name") == "reference" and event.get("value") and state.form_ended_at:
                SUBMITTED.inc()
                state.form_ended_at = None
        elif kind == "active_loop":
            if event.get("name") == FORM:
                state.in_form, state.form_ended_at = True, None
            elif event.get("name") is None and state.in_form:
                state.in_form, state.form_ended_at = False, state.question or "start"
                state.question = None


COUNTS = ConversationCounts()


class MetricsBroker(EventBroker):
    """endpoints*.yml `event_broker: {type: bot.metrics.MetricsBroker}`: counts, sends nothing anywhere."""

    @classmethod
    async def from_endpoint_config(cls, broker_config: Any, event_loop: Any = None) -> "MetricsBroker":
        return cls()

    def publish(self, event: Dict[Text, Any]) -> None:
        try:
            COUNTS.observe(event)
        except Exception as error:  # a count must never cost a parent's turn
            logger.warning("metrics: event not counted (%s)", type(error).__name__)

    def is_ready(self) -> bool:
        return True


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class MetricsChannel(InputChannel):
    """credentials*.yml `bot.metrics.MetricsChannel:` serves GET /webhooks/metrics/ to loopback only."""

    @classmethod
    def name(cls) -> Text:
        return "metrics"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("metrics_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def metrics(request: Request) -> HTTPResponse:
            if not _loopback(request.ip) or request.headers.get("x-forwarded-for"):
                return response.text("metrics are served on loopback only\n", status=403)
            return response.raw(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)

        return blueprint
