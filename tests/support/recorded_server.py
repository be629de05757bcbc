"""A real HTTP server on loopback that replays recorded responses, for end-to-end tests
of the command line (which builds its own httpx client from settings)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/xml"


@dataclass
class RecordedServer:
    url: str
    routes: dict[str, list[Reply]]
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)


@contextmanager
def recorded_server(routes: dict[str, list[Reply]]) -> Iterator[RecordedServer]:
    """Serve `routes` (path -> replies, the last one repeating) on a free loopback port."""
    state = RecordedServer(url="", routes={path: list(r) for path, r in routes.items()})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append((parts.path, parse_qs(parts.query)))
            replies = state.routes.get(parts.path)
            reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else Reply(404)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
