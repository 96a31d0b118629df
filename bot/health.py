"""A health endpoint for each Rasa server: GET /webhooks/health/.

200 only when this server can really keep a conversation: the model is loaded, the conversation
store is our SQL store (not Rasa's in-memory stand-in) and answers, and the lock store answers.
Otherwise 503 naming the check that failed. Load balancers and Kubernetes probes use it.

Installing this channel also turns Rasa's silent in-memory fallback into a refused turn (see
bot/tracker_store.py), for every channel of the server.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.tracker_store import GuardedSQLTrackerStore, guard, primary, seconds_since_last_failure

logger = logging.getLogger(__name__)


def checks(agent: Any) -> Dict[str, str]:
    """Each check's outcome: "ok", or what is wrong (no personal data, no connection strings)."""
    if agent is None or not agent.is_ready():
        return {"model": "not loaded"}
    results = {"model": "ok"}
    store = primary(agent.tracker_store)
    if not isinstance(store, GuardedSQLTrackerStore):
        results["conversation_store"] = f"{type(store).__name__}, not the SQL store: conversations would be lost"
    else:
        try:
            store.ping()
            results["conversation_store"] = "ok"
        except Exception as error:  # any failure means "not ready", whatever the driver raised
            results["conversation_store"] = f"unreachable ({type(error).__name__})"
    lock_store = agent.lock_store
    if isinstance(lock_store, InMemoryLockStore):
        results["lock_store"] = "ok (in memory: one Rasa server only)"
    else:
        try:
            lock_store.ping()
            results["lock_store"] = "ok"
        except Exception as error:
            results["lock_store"] = f"unreachable ({type(error).__name__})"
    return results


class HealthInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("health_webhook", __name__)

        @blueprint.listener("after_server_start")
        async def refuse_instead_of_forgetting(app: Any, _: Any) -> None:
            agent = getattr(app.ctx, "agent", None)
            if agent is not None:
                guard(agent.tracker_store)

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is not None:
                guard(agent.tracker_store)
            results = checks(agent)
            healthy = all(value.startswith("ok") for value in results.values())
            since = seconds_since_last_failure()
            body: Dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": results}
            if since is not None:
                body["seconds_since_last_refused_turn"] = round(since)
            return response.json(body, status=200 if healthy else 503)

        return blueprint
