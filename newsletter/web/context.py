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

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTasks

from newsletter.config import Settings
from newsletter.db.subscriptions import ConfirmationClaim, release_claim
from newsletter.delivery.compose import Composer
from newsletter.delivery.transactional import Mailer, MailError
from newsletter.mail.links import Links
from newsletter.mail.render import Masthead, RenderedEmail
from newsletter.web.quotas import ConfirmationQuota, Reservation
from newsletter.web.security import RateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebLimits:
    confirmation_cooldown: timedelta = timedelta(minutes=30)
    subscribe_per_ip: int = 10  # subscribe forms (and API calls) per address per window
    preview_per_ip: int = 60
    window_seconds: float = 3600.0
    max_body_bytes: int = 64_000
    # A library file from the subscribe or preferences page (bigger ones: the command line).
    max_upload_bytes: int = 2_000_000
    feed_digests: int = 30
    confirmations_per_mailbox_per_day: int = 3
    confirmations_per_domain_per_day: int = 200
    confirmations_per_hour: int = 300

    @classmethod
    def of(cls, settings: Settings) -> WebLimits:
        """The limits the settings choose; the rest as above."""
        return cls(
            confirmation_cooldown=timedelta(minutes=settings.confirmation_cooldown_minutes),
            confirmations_per_mailbox_per_day=settings.confirmations_per_mailbox_per_day,
            confirmations_per_domain_per_day=settings.confirmations_per_domain_per_day,
            confirmations_per_hour=settings.confirmations_per_hour,
        )

    def quota(self, clock: Callable[[], float] = time.time) -> ConfirmationQuota:
        return ConfirmationQuota(
            cooldown_seconds=self.confirmation_cooldown.total_seconds(),
            per_mailbox_per_day=self.confirmations_per_mailbox_per_day,
            per_domain_per_day=self.confirmations_per_domain_per_day,
            per_hour=self.confirmations_per_hour,
            clock=clock,
        )


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
class MailClaim:
    """What one mail took from the limits: its place in the subscriber's cooldown and its
    counts in the quota. Given back when the relay refuses the mail, so a cooldown starts
    only with a mail that went out."""

    confirmation: ConfirmationClaim | None = None
    reservation: Reservation | None = None


@dataclass(frozen=True)
class Mail:
    """The mail the web app sends (confirmations, welcomes, previews): rendered with the
    app's composer (its links carry the app's tokens), sent by `mailer`; `quota` counts the
    mails sent to unproven addresses."""

    composer: Composer
    mailer: Mailer
    sessions: sessionmaker[Session]
    quota: ConfirmationQuota

    async def send(
        self, recipient: str, rendered: RenderedEmail, claim: MailClaim | None = None
    ) -> None:
        try:
            await self.mailer.send(recipient=recipient, rendered=rendered)
        except (MailError, OSError):  # after the response: nobody to tell but the log
            log.exception("could not send %r to %s", rendered.subject, recipient)
        except Exception:  # raised here, it would only break the connection's next request
            log.exception("sending %r to %s failed", rendered.subject, recipient)
        else:
            return
        if claim is not None:
            await self.give_back(claim)

    async def give_back(self, claim: MailClaim) -> None:
        if claim.reservation is not None:
            self.quota.release(claim.reservation)
        if claim.confirmation is not None:
            await anyio.to_thread.run_sync(self._release, claim.confirmation)

    def _release(self, confirmation: ConfirmationClaim) -> None:
        try:
            with self.sessions.begin() as session:
                release_claim(session, confirmation)
        except SQLAlchemyError:  # the cooldown then runs as if the mail had gone out
            log.warning("could not release the confirmation cooldown of %s", confirmation)


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

    @property
    def quota(self) -> ConfirmationQuota:
        return self.mail.quota

    def later(
        self, recipient: str, rendered: RenderedEmail, claim: MailClaim | None = None
    ) -> None:
        self.tasks.add_task(self.mail.send, recipient, rendered, claim)
