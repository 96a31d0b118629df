"""Serves the web chat widget's files and a demo page (the service's page about COSP, with the
widget on it) on WEBCHAT_PORT (8000). `make run` starts it: open http://localhost:8000."""
from __future__ import annotations

import html
import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot import service_profile
from bot.logging_setup import start_process
from bot.settings import Settings

HERE = Path(__file__).resolve().parent
FILES: Dict[str, Tuple[Path, str]] = {
    "/webchat/widget.js": (HERE / "static" / "widget.js", "text/javascript; charset=utf-8"),
    "/webchat/widget.css": (HERE / "static" / "widget.css", "text/css; charset=utf-8"),
    "/webchat/vendor/socket.io.min.js": (
        HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js",
        "text/javascript; charset=utf-8",
    ),
}
DEMO = HERE / "demo" / "index.html"
log = logging.getLogger("bot.webchat")


def demo_page(settings: Settings) -> bytes:
    """The demo page with the team's details from the service profile, as the file is now."""
    page = DEMO.read_text(encoding="utf-8")
    for key, value in service_profile.current().reply_values().items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page.replace('data-socket-url="http://localhost:5005"', f'data-socket-url="{settings.webchat_socket_url}"').encode()


def make_handler(settings: Settings) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "cosp-webchat"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self._send(demo_page(settings), "text/html; charset=utf-8")
            elif path == "/health":
                self._send(b'{"status": "ok"}', "application/json")
            elif path in FILES and FILES[path][0].exists():
                file, kind = FILES[path]
                self._send(file.read_bytes(), kind, cors=True)
            else:
                self._send(b"Not found", "text/plain", status=HTTPStatus.NOT_FOUND)

        def _send(self, body: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK, cors: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            if cors:  # the widget's own files may be embedded by any site; the chat itself is limited by Rasa
                self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

    return Handler


def main(argv: Optional[list] = None) -> int:
    settings = start_process(log)
    if settings is None:
        return 2
    missing = [str(file) for file, _ in FILES.values() if not file.exists()]
    if missing:
        log.error("missing widget files (run `make run`, which installs them): %s", ", ".join(missing))
        return 2
    server = ThreadingHTTPServer((settings.webchat_listen, settings.webchat_port), make_handler(settings))
    log.info("web chat demo page on http://localhost:%s (chat server %s)", settings.webchat_port, settings.webchat_socket_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
