"""A REST channel (`POST /webhooks/<name>/webhook` with {"sender", "message"}) that never pretends.

Rasa's own REST channel answers 200 with no replies when a turn fails, and logs the parent's message
at ERROR. Here a failed turn (conversation store or lock store down) answers 503 and logs only the
kind of failure; a turn that ends with no reply at all (an action failed and Rasa carried on
without it) gets a "please send it again" reply. `LocalRestInput` is the local configuration's
REST channel (credentials.yml only); the Telegram bridge's channel builds on it.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.replies import expects_reply, no_reply
from bot.signpost import signpost_for
from bot.tracker_store import guard_on_start

logger = logging.getLogger(__name__)


class LocalRestInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def sender_error(self, sender: Any) -> Optional[str]:
        """Why this sender may not post here, or None."""
        return None if isinstance(sender, str) and sender else "sender must be a non-empty string"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint(f"{self.name()}_webhook", __name__)
        guard_on_start(blueprint)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            refused = self.sender_error(sender)
            if refused:
                return response.json({"error": refused}, status=400)
            if not isinstance(text, str):
                return response.json({"error": "message must be text"}, status=400)
            collector = CollectingOutputChannel()
            message_id = uuid.uuid4().hex
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), message_id=message_id))
            except Exception as error:  # whatever failed, the turn was not kept: say so, never 200
                logger.error("Turn refused on the %s channel: %s", self.name(), type(error).__name__)
                return response.json({"error": "the assistant could not take this message now"}, status=503)
            if not collector.messages and expects_reply(text):
                # Mostly an action failed and Rasa carried on without it (Rasa logs that at ERROR);
                # its events were dropped, so the same message sent again is taken afresh.
                logger.warning("A turn on the %s channel produced no reply; asking for the message again", self.name())
                return response.json([{"recipient_id": sender, "text": no_reply()}])
            line = signpost_for(message_id)
            if line:
                collector.messages.append({"recipient_id": sender, "text": line})
            return response.json(collector.messages)

        return blueprint
