"""What every route needs, built once per app: settings, database, mail, tokens, limits."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTasks
from starlette.datastructures import FormData

from newsletter.config import Settings
from newsletter.db.models import SubscriberRow
from newsletter.db.subscriber_rows import get
from newsletter.delivery.compose import Composer
from newsletter.delivery.transactional import Mailer, MailError
from newsletter.mail.links import Links, Recipient
from newsletter.mail.render import RenderedEmail
from newsletter.mail.tokens import Purpose, TokenClaims, TokenError, Tokens
from newsletter.web.preview import Previewer
from newsletter.web.security import CSRF_FIELD, NONCE_KEY, Csrf, RateLimiter

log = logging.getLogger(__name__)
MAX_TOKEN_LENGTH = 400


@dataclass(frozen=True)
class WebLimits:
    confirmation_cooldown: timedelta = timedelta(minutes=30)
    subscribe_per_ip: int = 10  # subscribe forms (and API calls) per address per window
    preview_per_ip: int = 60
    window_seconds: float = 3600.0
    max_body_bytes: int = 64_000
    feed_digests: int = 30


class PageError(Exception):
    """Ends a request with an explanation page (or JSON under /api/)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass
class Web:
    settings: Settings
    sessions: sessionmaker[Session]
    templates: Jinja2Templates
    tokens: Tokens
    links: Links
    composer: Composer
    mailer: Mailer
    csrf: Csrf
    previewer: Previewer
    limits: WebLimits
    clock: Callable[[], float] = time.time
    subscribe_limiter: RateLimiter = field(init=False)
    preview_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        window = self.limits.window_seconds
        self.subscribe_limiter = RateLimiter(self.limits.subscribe_per_ip, window, self.clock)
        self.preview_limiter = RateLimiter(self.limits.preview_per_ip, window, self.clock)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def page(
        self, request: Request, name: str, context: Mapping[str, Any], *, status: int = 200
    ) -> HTMLResponse:
        nonce = str(request.state.csrf_nonce if hasattr(request.state, NONCE_KEY) else "")
        full = {
            "csrf_field": CSRF_FIELD,
            "csrf": lambda path: self.csrf.token(nonce, path),
            "list_name": self.composer.masthead.list_name,
            "mail_sink": self.settings.uses_mail_sink,
            **context,
        }
        return self.templates.TemplateResponse(request, name, full, status_code=status)

    def notice(
        self,
        request: Request,
        title: str,
        message: str,
        *,
        status: int = 200,
        links: Sequence[tuple[str, str]] = (),
    ) -> HTMLResponse:
        context = {"title": title, "message": message, "links": links}
        return self.page(request, "notice.html", context, status=status)

    def subscriber(
        self, session: Session, purpose: Purpose, token: str
    ) -> tuple[SubscriberRow, TokenClaims]:
        """The subscriber a link is for, or PageError: tampered, expired, for another
        purpose, or revoked (the subscriber is gone or its token key was replaced)."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise PageError(400, "This link is not valid", "The link is too long.")
        try:
            claims = self.tokens.read(purpose, token)
        except TokenError as exc:
            raise PageError(
                400, "This link does not work", f"Sorry, {exc}. Links are only valid as mailed."
            ) from None
        row = get(session, claims.subscriber_id)
        if row is None or row.token_key != claims.token_key:
            raise PageError(
                404,
                "This link no longer works",
                "The subscription it belongs to was deleted, or its links were replaced.",
            )
        return row, claims

    def check_csrf(self, request: Request, form: FormData, *, path: str | None = None) -> None:
        """`path`: the form's own action when one form posts to two paths (subscribe and
        preview share the subscribe form's token)."""
        submitted = form.get(CSRF_FIELD)
        if not self.csrf.valid(
            submitted=submitted if isinstance(submitted, str) else "",
            cookie=request.cookies.get(self.csrf.cookie),
            path=path or request.url.path,
        ):
            raise PageError(
                403,
                "This form has expired",
                "For your security, forms work only in the browser that opened them, for "
                "12 hours, with cookies on. Go back, reload the page and send it again.",
            )

    def client(self, request: Request) -> str:
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

    def recipient(self, row: SubscriberRow) -> Recipient:
        return Recipient(row.id, row.token_key)

    def mail_later(self, tasks: BackgroundTasks, recipient: str, rendered: RenderedEmail) -> None:
        """Send after the response: its timing then says nothing about the address."""
        tasks.add_task(self._send, recipient, rendered)

    async def _send(self, recipient: str, rendered: RenderedEmail) -> None:
        try:
            await self.mailer.send(recipient=recipient, rendered=rendered)
        except (MailError, OSError):
            log.exception("could not send %r to %s", rendered.subject, recipient)
