"""Each action call goes through aiohttp's client: a request object, a payload object, a timer, cookie
handling, a response object and its stream, about 0.25 ms of Python per call; a form step makes two
calls (the validation and the next question), 10 % of the step. The call itself is one small HTTP/1.1
POST to our own action server on loopback.

Here that POST is written and its answer read directly on a kept-open connection (asyncio streams):
the same request line, headers and body, and the same outcome for Rasa: the reply's JSON, or None
when it is not JSON; `ClientResponseError` with the status and body for a status of 400 or more;
aiohttp's connection errors when the server can't be reached or hangs up; `asyncio.TimeoutError`
after Rasa's timeout. Idle connections are dropped after 2 seconds (rasa-sdk's server closes them
after 5) or as soon as the server has closed them. Any call this does not cover (https, a token or
basic auth, query parameters, compression, another method) goes through Rasa's own way."""
from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import aiohttp
import ujson
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

NAME = "action_http"
IDLE_SECONDS = 2.0
TIMEOUT_SECONDS = 300.0  # Rasa's DEFAULT_REQUEST_TIMEOUT, when a call names none
_JSON = re.compile(r"^application/(?:[\w.+-]+?\+)?json")
_WRAPPED = "_cosp_action_http"
_HANDLED = {"json", "data", "timeout", "headers"}

Connection = Tuple[asyncio.StreamReader, asyncio.StreamWriter, float]


class Answer:
    def __init__(self, status: int, reason: str, headers: Dict[str, str], body: bytes) -> None:
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def json(self) -> Any:
        """What aiohttp's `response.json()` gives; None where Rasa catches its ContentTypeError."""
        content_type = self.headers.get("content-type", "").lower()
        if not _JSON.match(content_type):
            return None
        stripped = self.body.strip()
        if not stripped:
            return None
        charset = re.search(r"charset=([\w.-]+)", content_type)
        return json.loads(stripped.decode(charset.group(1) if charset else "utf-8"))


class LeanClient:
    """Keep-alive HTTP/1.1 POSTs to one http:// URL, from one event loop at a time."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host_header = parts.netloc
        self._idle: List[Connection] = []
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    async def _connection(self) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._idle, self._loop = [], loop
        now = time.monotonic()
        while self._idle:
            reader, writer, since = self._idle.pop()
            if reader.at_eof() or writer.is_closing() or now - since > IDLE_SECONDS:
                writer.close()
                continue
            return reader, writer
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError as error:
            raise aiohttp.ClientOSError(*error.args) from error

    def _request(self, body: bytes, headers: Dict[str, str]) -> bytes:
        lines = [f"POST {self.target} HTTP/1.1", f"Host: {self.host_header}",
                 *(f"{k}: {v}" for k, v in headers.items()), f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode("latin-1") + body

    async def post(self, body: bytes, headers: Dict[str, str]) -> Answer:
        reader, writer = await self._connection()
        try:
            writer.write(self._request(body, headers))
            answer, keep = await _read(reader)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            writer.close()
            raise aiohttp.ServerDisconnectedError(str(error) or None) from error
        except OSError as error:
            writer.close()
            raise aiohttp.ClientOSError(*error.args) from error
        except BaseException:
            writer.close()  # a timeout or a malformed answer: this connection is not used again
            raise
        if keep:
            self._idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return answer


async def _read(reader: asyncio.StreamReader) -> Tuple[Answer, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise aiohttp.ClientPayloadError(f"not an HTTP/1.x answer: {status_line[:40]!r}")
    headers: Dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, keep = await reader.read(), False
    return Answer(int(code), reason, headers, body), keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the blank line
                pass
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


def _covered(endpoint: EndpointConfig, method: str, subpath: Optional[str], compress: bool,
             kwargs: Dict[str, Any]) -> bool:
    return (method.lower() == "post" and not subpath and not compress and not endpoint.cafile
            and not endpoint.token and not endpoint.basic_auth and not endpoint.params
            and urlsplit(endpoint.url).scheme == "http" and set(kwargs) <= _HANDLED
            and ("json" in kwargs) != ("data" in kwargs) and isinstance(kwargs.get("data", b""), bytes))


def _wrap(endpoint: EndpointConfig, stock: Any) -> Any:
    client = LeanClient(endpoint.url)

    async def request(method: str = "post", subpath: Optional[str] = None,
                      content_type: Optional[str] = "application/json", compress: bool = False, **kwargs: Any) -> Any:
        if not _covered(endpoint, method, subpath, compress, kwargs):
            return await stock(method=method, subpath=subpath, content_type=content_type, compress=compress, **kwargs)
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(kwargs.get("headers") or {})
        headers.update(endpoint.headers or {})
        body = kwargs["data"] if "data" in kwargs else ujson.dumps(kwargs["json"]).encode("utf-8")
        timeout = kwargs.get("timeout")
        seconds = getattr(timeout, "total", timeout) or TIMEOUT_SECONDS
        answer = await asyncio.wait_for(client.post(body, headers), seconds)
        if answer.status >= 400:
            raise ClientResponseError(answer.status, answer.reason, answer.body)  # type: ignore[arg-type]
        return answer.json()

    setattr(request, _WRAPPED, client)
    return request


def install(agent: Any) -> None:
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is not None and not hasattr(endpoint.request, _WRAPPED):
        endpoint.request = _wrap(endpoint, endpoint.request)
