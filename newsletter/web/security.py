"""CSRF tokens, a per-IP rate limit and the headers and size limit every response gets.

CSRF design: a signed double-submit token. Every visitor gets a random nonce in an HttpOnly,
SameSite=Strict cookie; each form carries `sign(nonce, hash(action path), time)` in a hidden
field (itsdangerous, the app's secret, salt "newsletter.csrf"). A POST is accepted only when
the field's signature is valid and fresh, its nonce equals the cookie's (constant-time) and
it was issued for the path posted to. Another site can neither read our pages nor set our
cookie, so it cannot produce a matching pair. The paths of the manage pages also carry
signed tokens, which a forger would need as well.

The one exception is RFC 8058 one-click unsubscribe (a mail provider posts it without
cookies); the JSON API carries no cookies and needs `application/json`, which a cross-site
form cannot send.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from itsdangerous import BadData, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.web.headers import DOCS_PATHS, HSTS, server_error, with_docs_csp

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE = 12 * 3600  # seconds a form stays usable
TOO_LARGE = "Request too large: forms here take at most a few kilobytes."
TOO_LARGE_UPLOAD = (
    "Request too large: a library file may be at most {size} here. Export a collection "
    "of it, or ask the administrator to import it (newsletter subscribers library)."
)
# The forms (multipart) and API calls that carry a library file (subscribe and its preview
# share a form); every other request keeps the small limit.
UPLOAD_PATHS = re.compile(r"/(?:preview)?|(?:/api)?/preferences/[^/]+(?:/topics/[^/]+)?/library")
NONCE_KEY = "csrf_nonce"  # in the request's state
_NEW_NONCE_KEY = "csrf_new_nonce"

# Our pages need nothing from elsewhere: one stylesheet, one script, both ours.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The development inbox frames each mail's HTML (itself served sandboxed) from this origin.
_DEV_MAIL = "/dev/mail"
_DEV_MAIL_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'"
)


class _Signer(TimestampSigner):
    clock: Callable[[], float] = time.time

    def get_timestamp(self) -> int:
        return int(self.clock())


@dataclass
class Csrf:
    secret: str
    https: bool
    clock: Callable[[], float] = time.time
    _signer: _Signer = field(init=False)

    def __post_init__(self) -> None:
        self._signer = _Signer(self.secret, salt="newsletter.csrf")
        self._signer.clock = self.clock

    @property
    def cookie(self) -> str:
        # __Host- cookies are only accepted over HTTPS, for this host, path "/".
        return "__Host-csrf" if self.https else "csrf"

    def token(self, nonce: str, path: str) -> str:
        return self._signer.sign(f"{nonce}.{_path_hash(path)}").decode("ascii")

    def valid(self, *, submitted: str, cookie: str | None, path: str) -> bool:
        if not cookie or not submitted or len(submitted) > 200:
            return False
        try:
            value = self._signer.unsign(submitted, max_age=CSRF_MAX_AGE).decode("ascii")
        except (BadData, UnicodeDecodeError):
            return False
        nonce, _, bound = value.partition(".")
        return hmac.compare_digest(nonce, cookie) and hmac.compare_digest(bound, _path_hash(path))


def _path_hash(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8")).hexdigest()[:24]


@dataclass
class RateLimiter:
    """At most `limit` hits per key in any `window` seconds (a sliding log, in memory: one
    process serves the web app; restarting forgets, which only ever lets more through)."""

    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    # Routes run in the thread pool: one count at a time, or two could both take the last
    # slot, or one could trim the table while another walks it.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> bool:
        return self.take(key) is not None

    def take(self, key: str) -> float | None:
        """Count a hit for `key` and return its time, or None once the limit is reached."""
        with self._lock:
            return self._take(key)

    def give_back(self, key: str, stamp: float) -> None:
        """Forget the hit `take` counted at `stamp` (what it stood for did not happen)."""
        with self._lock:
            hits = self._hits.get(key)
            if hits is not None and stamp in hits:
                hits.remove(stamp)

    def _take(self, key: str) -> float | None:
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return None
        hits.append(now)
        return now

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        # Under attack from many addresses: drop the oldest tenth (dicts keep insertion
        # order), never everyone's counts at once.
        excess = len(self._hits) - self.max_keys * 9 // 10
        for key in list(islice(self._hits, max(excess, 0))):
            del self._hits[key]


def client_key(request: HTTPConnection) -> str:
    """The rate-limit key: the client's IPv4 address, or its IPv6 /64 (one end user
    usually holds a whole /64, so counting single IPv6 addresses would not limit them).
    Behind a reverse proxy, run uvicorn with --proxy-headers so this is the client's."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


class BodyTooLarge(HTTPException):
    """Raised while the body is read: an HTTPException, so the app's handler answers 413 in
    the page or API shape (FastAPI re-raises those from a body it was reading)."""

    def __init__(self, message: str = TOO_LARGE) -> None:
        super().__init__(413, message)


class SecurityMiddleware:
    """Security headers on every response (413 and 500 included: both are answered here),
    the CSRF nonce cookie, and a request size limit (forms and JSON here are a few
    kilobytes; nothing needs more). See `headers` for HSTS, the explorer's CSP and the 500."""

    def __init__(
        self, app: ASGIApp, *, csrf: Csrf, max_body: int, max_upload: int | None = None
    ) -> None:
        self.app = app
        self.csrf = csrf
        self.max_body = max_body
        self.max_upload = max_upload or max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = MutableHeaders(scope=scope)
        state = scope.setdefault("state", {})
        state[NONCE_KEY] = _cookie(headers.get("cookie", ""), self.csrf.cookie)
        if state[NONCE_KEY] is None:
            state[NONCE_KEY] = state[_NEW_NONCE_KEY] = secrets.token_urlsafe(18)
        started = False
        received = 0
        path = str(scope.get("path", ""))
        upload = _carries_upload(scope, headers, path)
        limit = self.max_upload if upload else self.max_body
        too_large = TOO_LARGE_UPLOAD.format(size=_size(limit)) if upload else TOO_LARGE

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(too_large)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self._decorate(MutableHeaders(scope=message), scope, state)
            await send(message)

        out = with_docs_csp(send_with_headers) if path.startswith(DOCS_PATHS) else send_with_headers
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send_with_headers, too_large)
            return
        try:
            await self.app(scope, limited_receive, out)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send_with_headers, too_large)
        except Exception:
            if started:
                raise
            log.exception("unexpected error in %s %s", scope.get("method"), path)
            await server_error(send_with_headers, api=path.startswith("/api/"))

    def _decorate(self, out: MutableHeaders, scope: Scope, state: dict[str, object]) -> None:
        path = str(scope.get("path", ""))
        dev_mail = path.startswith(_DEV_MAIL)
        out.setdefault("Content-Security-Policy", _DEV_MAIL_CSP if dev_mail else CSP)
        out.setdefault("X-Content-Type-Options", "nosniff")
        out.setdefault("X-Frame-Options", "SAMEORIGIN" if dev_mail else "DENY")
        # Our URLs carry tokens: never hand them to another site in a Referer.
        out.setdefault("Referrer-Policy", "no-referrer")
        if self.csrf.https:
            out.setdefault("Strict-Transport-Security", HSTS)
        if not path.startswith("/static/"):
            out.setdefault("Cache-Control", "no-store")
        nonce = state.get(_NEW_NONCE_KEY)
        if isinstance(nonce, str):
            secure = "; Secure" if self.csrf.https else ""
            out.append(
                "Set-Cookie",
                f"{self.csrf.cookie}={nonce}; Path=/; HttpOnly; SameSite=Strict{secure}",
            )


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        plain = value.replace("-", "").replace("_", "")
        if key == name and 16 <= len(value) <= 64 and plain.isascii() and plain.isalnum():
            return value
    return None


def _carries_upload(scope: Scope, headers: MutableHeaders, path: str) -> bool:
    """A POST that may carry a library file: to an upload path, and (a page's form) as
    multipart, since a urlencoded form cannot hold a file."""
    if scope.get("method") != "POST" or UPLOAD_PATHS.fullmatch(path) is None:
        return False
    kind = headers.get("content-type", "").lower()
    return path.startswith("/api/") or kind.startswith("multipart/form-data")


def _size(count: int) -> str:
    return f"{count / 1_000_000:g} MB" if count >= 1_000_000 else f"{count // 1_000} kB"


async def _too_large(send: Send, message: str = TOO_LARGE) -> None:
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
