"""A health endpoint for each Rasa server: GET /webhooks/health/.

200 only when this server can really keep a conversation: the model is loaded, the conversation
store is our SQL store (not Rasa's in-memory stand-in) and answers, and the lock store answers.
Otherwise 503 naming the check that failed. Load balancers and Kubernetes probes use it.

Like each of our channels, it also turns Rasa's silent in-memory fallback into a refused turn (see
bot/tracker_store.py, guard_on_start).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.tracker_store import GuardedSQLTrackerStore, guard_on_start, primary, seconds_since_last_failure


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
        guard_on_start(blueprint)

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            results = checks(getattr(request.app.ctx, "agent", None))
            healthy = all(value.startswith("ok") for value in results.values())
            since = seconds_since_last_failure()
            body: Dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": results}
            if since is not None:
                body["seconds_since_last_refused_turn"] = round(since)
            return response.json(body, status=200 if healthy else 503)

        return blueprint
