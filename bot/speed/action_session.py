"""Rasa opens a new HTTP session (and a new TCP connection) to the action server for every action
call (`EndpointConfig.request` does `async with self.session()`). One session per Rasa server,
kept open with its connections, for the action endpoint only. It writes the request body (the
tracker, on a form step 7 % of the turn through the standard library's encoder) with ujson, the
encoder the conversation store already uses: the same JSON values, written compactly."""
from __future__ import annotations

import asyncio
from typing import Any, Optional

import aiohttp
import ujson
from rasa.utils.endpoints import EndpointConfig

NAME = "action_session"


class _Borrowed:
    """`async with` gives the shared session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: Any) -> None:
        return None


class SharedSession:
    def __init__(self, endpoint: EndpointConfig) -> None:
        self.make = EndpointConfig.session.__get__(endpoint)  # Rasa's own headers, auth and timeout
        self.open: Optional[aiohttp.ClientSession] = None

    def __call__(self) -> _Borrowed:
        loop = asyncio.get_running_loop()
        if self.open is None or self.open.closed or getattr(self.open, "_loop", loop) is not loop:
            self.open = self.make()  # made inside the running event loop, on first use there
            self.open._json_serialize = ujson.dumps  # aiohttp's json= encoder for this session
        return _Borrowed(self.open)

    async def close(self) -> None:
        if self.open is not None and not self.open.closed:
            await self.open.close()


def install(agent: Any) -> None:
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is not None and not isinstance(endpoint.__dict__.get("session"), SharedSession):
        endpoint.session = SharedSession(endpoint)

