"""An action server that does nothing: every /webhook gets no events and no responses.

The latency baseline points Rasa's ACTION_SERVER_URL here: the same Rasa, without our actions.
Run: python -m bench.null_actions PORT
"""
from __future__ import annotations

import sys

from aiohttp import web


async def webhook(_: web.Request) -> web.Response:
    return web.json_response({"events": [], "responses": []})


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def app() -> web.Application:
    application = web.Application()
    application.add_routes([web.post("/webhook", webhook), web.get("/health", health)])
    return application


if __name__ == "__main__":
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
