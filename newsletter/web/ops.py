"""Who may see the pages meant for operators: `/metrics` and the API docs (`/docs`, `/redoc`,
`/openapi.json`).

In dev both are open. In production the docs are off unless `PUBLIC_DOCS` opens them (the
API is public, its description harmless, but it is surface an operator should choose to
show), and `/metrics` is off unless `OPS_TOKEN` is set; then a request carrying
`Authorization: Bearer <OPS_TOKEN>` sees both. Refused requests get the same 404 as an
unknown address (401 where a token would help), so nothing says what is there.

A path gate, not a dependency: FastAPI serves the docs itself, outside any router.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from newsletter.config import Settings
from newsletter.web.errors import http_error

DOCS = ("/docs", "/redoc", "/openapi.json")
METRICS = "/metrics"


@dataclass(frozen=True)
class OpsAccess:
    token: str | None
    dev: bool
    public_docs: bool

    @classmethod
    def of(cls, settings: Settings) -> OpsAccess:
        token = settings.ops_token.get_secret_value() if settings.ops_token else None
        return cls(token=token or None, dev=settings.is_dev, public_docs=settings.public_docs)

    @property
    def docs_for_everyone(self) -> bool:
        return self.dev or self.public_docs

    def refusal(self, path: str, authorization: str | None) -> int | None:
        """None when the request may go on; else the status to refuse it with."""
        docs = path.startswith(DOCS)
        if not docs and path != METRICS:
            return None
        if self.token is not None and self._bearer_matches(authorization):
            return None
        if docs and self.docs_for_everyone:
            return None
        if path == METRICS and self.dev and self.token is None:
            return None
        return 401 if self.token is not None else 404

    def _bearer_matches(self, authorization: str | None) -> bool:
        scheme, _, given = (authorization or "").partition(" ")
        assert self.token is not None
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )


class OpsGate:
    """Refuses what `OpsAccess` refuses, with the app's own 404 (or 401) answer."""

    def __init__(self, app: ASGIApp, *, access: OpsAccess) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope.get("path", ""))
            status = self.access.refusal(path, Headers(scope=scope).get("authorization"))
            if status is not None:
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                detail = "Not Found" if status == 404 else "a bearer token is required"
                response = http_error(Request(scope), HTTPException(status, detail, headers))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
