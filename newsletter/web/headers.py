"""What `SecurityMiddleware` adds beyond the headers of our own pages: HSTS, a CSP for the API
explorer, and the answer when a route failed unexpectedly.

- HSTS only when the base URL is https: a browser that saw it refuses plain http for a year,
  which would lock out a service that does not serve https.
- The explorer pages (/docs, /redoc) are HTML that FastAPI (or whoever serves them) writes
  with inline scripts. Their CSP allows exactly those scripts, by hash, computed from the
  page itself (a few kilobytes, buffered): no 'unsafe-inline', whatever the page's version.
- A 500 is answered here, inside the middleware, so it carries the security headers too (an
  exception handler for `Exception` would run outside every middleware), and in the API's
  error shape under /api/. It says nothing about the failure; the log has it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Send

HSTS = "max-age=31536000"
DOCS_PATHS = ("/docs", "/redoc")
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def docs_csp(html: bytes) -> str:
    """The explorer page's CSP: its own inline scripts (by hash) and assets (served from this
    service by `web.docs`), nothing from elsewhere."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def with_docs_csp(send: Send) -> Send:
    """`send`, after the whole page was seen and its CSP put on the response's headers."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def buffered(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        MutableHeaders(scope=start)["Content-Security-Policy"] = docs_csp(body)
        await send(start)
        await send({"type": "http.response.body", "body": body})

    return buffered


async def server_error(send: Send, *, api: bool) -> None:
    """The 500 answer: the API's error shape, or a short page."""
    if api:
        body = json.dumps({"detail": "internal error", "problems": {}}).encode()
        kind = b"application/json"
    else:
        body = (
            b"<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1>"
            b"<p>Nothing you did caused this. Please try again in a minute.</p>"
        )
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
