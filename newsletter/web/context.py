"""The per-app pieces the routes draw on, built once by `create_app` and kept on `app.state`.

Each piece does one thing (limits, rate limiters, outgoing mail; pages live in `pages`), and
a route asks for exactly the pieces it uses through `deps`, so no object carries everything
and a test can build an app with its own clock, mailer and limits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from starlette.background import BackgroundTasks

from newsletter.delivery.compose import Composer
from newsletter.delivery.transactional import Mailer, MailError
from newsletter.mail.links import Links
from newsletter.mail.render import Masthead, RenderedEmail
from newsletter.web.security import RateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebLimits:
    confirmation_cooldown: timedelta = timedelta(minutes=30)
    subscribe_per_ip: int = 10  # subscribe forms (and API calls) per address per window
    preview_per_ip: int = 60
    window_seconds: float = 3600.0
    max_body_bytes: int = 64_000
    feed_digests: int = 30


@dataclass(frozen=True)
class Limiters:
    """Per-client counters: subscribe requests (each may send a mail) and previews (each
    ranks a day of papers). Pages and API share them, so switching does not double a limit."""

    subscribe: RateLimiter
    preview: RateLimiter

    @classmethod
    def of(cls, limits: WebLimits, clock: Callable[[], float] = time.time) -> Limiters:
        window = limits.window_seconds
        return cls(
            subscribe=RateLimiter(limits.subscribe_per_ip, window, clock),
            preview=RateLimiter(limits.preview_per_ip, window, clock),
        )


@dataclass(frozen=True)
class Mail:
    """The mail the web app sends (confirmations, welcomes, previews): rendered with the
    app's composer (its links carry the app's tokens), sent by `mailer`."""

    composer: Composer
    mailer: Mailer

    async def send(self, recipient: str, rendered: RenderedEmail) -> None:
        try:
            await self.mailer.send(recipient=recipient, rendered=rendered)
        except (MailError, OSError):  # after the response: nobody to tell but the log
            log.exception("could not send %r to %s", rendered.subject, recipient)


@dataclass(frozen=True)
class OutgoingMail:
    """One request's mail, sent after the response: its timing then says nothing about
    the address (a known address must not answer slower than an unknown one)."""

    mail: Mail
    tasks: BackgroundTasks

    @property
    def links(self) -> Links:
        return self.mail.composer.links

    @property
    def masthead(self) -> Masthead:
        return self.mail.composer.masthead

    @property
    def composer(self) -> Composer:
        return self.mail.composer

    def later(self, recipient: str, rendered: RenderedEmail) -> None:
        self.tasks.add_task(self.mail.send, recipient, rendered)
