"""Subscribe (with a preview) and confirm: the double opt-in, shared by the pages and the API.

No enumeration: whatever the address's state (new, pending, active, paused, unsubscribed,
bounced), a valid request gets the same answer in the same time. The route only checks the
form and answers; storing the request and mailing happen after the answer (`Signups`, a
background task), because that work differs by state (a new address is inserted, a known
one only read) and its timing would tell which. Which mail depends on the state: a pending
address gets the confirmation link, a subscribed one the manage link, a bounced one
nothing; each within the cooldown and quota (`quotas`), which count only mails the relay
accepted.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, object_session, sessionmaker

from newsletter.db.examples import remove_library
from newsletter.db.models import SubscriberRow
from newsletter.db.papers import list_papers
from newsletter.db.subscriber_rows import get
from newsletter.db.subscriptions import claim_confirmation_mail, confirm, request_subscription
from newsletter.db.topics import first_topic
from newsletter.delivery.compose import Composer
from newsletter.domain import SAMPLE_ORIGIN, Frequency, Status, is_sample
from newsletter.library import LibraryImport
from newsletter.mail.render import (
    RenderedEmail,
    long_date,
    render_confirmation,
    render_manage_link,
)
from newsletter.mail.render import render_welcome as welcome_mail
from newsletter.pipeline.dispatch import next_send_time
from newsletter.subscribers.library_import import store_entries
from newsletter.web import forms
from newsletter.web.account import recipient
from newsletter.web.context import Mail, MailClaim, OutgoingMail
from newsletter.web.errors import DATABASE_ERRORS, PageError
from newsletter.web.pages import Pages, form_context
from newsletter.web.retry import PATIENCE_SECONDS, until_stored

log = logging.getLogger(__name__)
Outgoing = tuple[str, RenderedEmail, MailClaim]  # recipient, mail, what it took from limits
Library = tuple[LibraryImport, str]  # a library file as read, and its name

SUBSCRIBED_TITLE = "Check your inbox"
SUBSCRIBED_MESSAGE = (
    "If the address can receive the digest, a message is on its way: open the link in it "
    "to confirm (or to manage an existing subscription). Nothing is sent until you do."
)
LATEST_PAPERS = 30  # listed on the home page


def index_page(
    pages: Pages, session: Session, default_zone: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """The home page: the subscribe form (as typed, with its problems or a preview, when
    `context` says so) and the latest papers."""
    papers = list_papers(session, limit=LATEST_PAPERS)
    preview = context.get("preview")
    shown = [*papers, *(match.paper for match in preview.matches)] if preview else papers
    # The bundled sample day (pipeline/sample.py) is never passed off as real papers.
    sample = SAMPLE_ORIGIN if any(map(is_sample, shown)) else None
    full = form_context(default_zone, papers=papers, sample_origin=sample, **context)
    return pages.render("index.html", full, status=status)


@dataclass(frozen=True)
class Signups:
    """Subscribe requests, handled after the answer (see the module's rules)."""

    sessions: sessionmaker[Session]
    mail: Mail
    cooldown: timedelta
    resubscribe_after: timedelta
    patience: float = PATIENCE_SECONDS

    async def request(
        self, checked: forms.Checked, now: datetime, library: Library | None = None
    ) -> None:
        """Store the request (never touching an active subscription) and send the one mail
        this address may get now, if any. `library` (a file read from the form, and its
        name) becomes the pending subscription's library, used once it is confirmed."""
        await self._store_then_mail(functools.partial(self._store, checked, now, library))

    async def mail_manage_link(self, subscriber_id: int, now: datetime) -> None:
        """A confirmed subscriber asked again from the confirmation link: mail the way in."""
        await self._store_then_mail(functools.partial(self._manage_link, subscriber_id, now))

    async def _store_then_mail(self, store: Callable[[], Outgoing | None]) -> None:
        try:  # retried while the database is busy: the request was already answered
            outgoing = await until_stored(store, patience=self.patience)
        except DATABASE_ERRORS:
            log.error("a subscribe request was lost: the database stayed unavailable")
            return
        except Exception:  # after the answer: an error raised here would only break the
            # connection's next request (uvicorn closes it), so the log is where it goes
            log.exception("a subscribe request failed after its answer")
            return
        if outgoing is not None:
            await self.mail.send(*outgoing)

    def _store(
        self, checked: forms.Checked, now: datetime, library: Library | None
    ) -> Outgoing | None:
        with self.sessions.begin() as session:
            row = request_subscription(
                session,
                email=checked.email,
                profile=checked.profile,
                schedule=checked.schedule,
                now=now,
                resubscribe_after=self.resubscribe_after,
            )
            if row.status == Status.BOUNCED:
                return None  # the address does not exist: mailing it again only hurts
            if library is not None and row.status == Status.PENDING:
                # Like the profile, the library of a pending request is replaced by the
                # latest one; a confirmed subscription is never touched from this form.
                topic = first_topic(session, row)
                remove_library(session, topic.id, now=now)
                store_entries(session, topic.id, library[0], source=library[1], now=now)
            return self._claimed(row, now)

    def _manage_link(self, subscriber_id: int, now: datetime) -> Outgoing | None:
        with self.sessions.begin() as session:
            row = get(session, subscriber_id)
            if row is None or row.status not in (Status.ACTIVE, Status.PAUSED):
                return None
            return self._claimed(row, now)

    def _claimed(self, row: SubscriberRow, now: datetime) -> Outgoing | None:
        """The first mail, once the quota and the address's cooldown allow it (both taken
        here, given back if the transaction fails or, later, the relay refuses it)."""
        reservation = self.mail.quota.reserve(row.email)
        if reservation is None:
            return None
        try:
            confirmation = claim_confirmation_mail(row, now=now, cooldown=self.cooldown)
            if confirmation is None:
                self.mail.quota.release(reservation)
                return None
            rendered = first_mail(row, self.mail.composer)
            session = object_session(row)
            assert session is not None
            session.flush()
        except BaseException:
            self.mail.quota.release(reservation)
            raise
        return row.email, rendered, MailClaim(confirmation, reservation)


def first_mail(row: SubscriberRow, composer: Composer) -> RenderedEmail:
    """A pending address gets the confirmation link; any other the manage link."""
    who, links, masthead = recipient(row), composer.links, composer.masthead
    if row.status == Status.PENDING:
        return render_confirmation(
            recipient=row.email, confirm_url=links.confirm(who), masthead=masthead
        )
    return render_manage_link(
        recipient=row.email,
        preferences_url=links.preferences(who),
        unsubscribe_url=links.unsubscribe(who),
        masthead=masthead,
    )


def confirm_and_welcome(row: SubscriberRow, *, now: datetime, mail: OutgoingMail) -> bool:
    """Confirm a pending subscription; the first confirmation also sends the welcome mail
    (confirming again, or an ended subscription, changes and sends nothing). True when it
    was confirmed now."""
    if not confirm(row, now=now):
        return False
    who = recipient(row)
    welcome = welcome_mail(
        recipient=row.email,
        preferences_url=mail.links.preferences(who),
        unsubscribe_url=mail.links.unsubscribe(who),
        masthead=mail.masthead,
    )
    mail.later(row.email, welcome)
    return True


def confirmed_page(
    pages: Pages,
    row: SubscriberRow,
    *,
    now: datetime,
    default_zone: str,
    done: str = "",
    refused: str = "",
) -> HTMLResponse:
    """After a confirmation link was used: subscribed (when the first digest comes, and a
    button that mails one of the latest papers now), or (410) the subscription ended.
    Never a link to the preferences: a confirmation link is a week-long key for anyone who
    holds the mail, the preferences link a two-year one (the welcome mail brings it); the
    "digest now" button posts to the confirmation link itself."""
    if row.status in (Status.ACTIVE, Status.PAUSED):
        context = {
            "paused": row.status == Status.PAUSED,
            "when": _next_digest(row, now=now, default_zone=default_zone),
            "action": pages.request.url.path.removesuffix("/preview"),
            "done": done,
            "refused": refused,
        }
        return pages.render("subscribed.html", context)
    raise PageError(
        410,
        "This confirmation link is no longer valid",
        "The subscription it confirmed has ended. Subscribe again from the home page.",
        [("Subscribe again from the home page", "/")],
    )


def _next_digest(row: SubscriberRow, *, now: datetime, default_zone: str) -> str:
    """When the digest comes next, in the subscriber's own words and zone: "today at
    07:00 (Europe/Paris)", "tomorrow, …", or a weekday and date."""
    zone_name = row.timezone or default_zone
    zone = ZoneInfo(zone_name)
    weekly = row.frequency == Frequency.WEEKLY.value
    start = max(now, row.active_since or row.confirmed_at or now)
    at = next_send_time(
        start, hour=row.send_hour, zone=zone, weekday=row.send_weekday if weekly else None
    )
    today = now.astimezone(zone).date()
    day = at.date()
    if day == today:
        label = "today"
    elif day == today + timedelta(days=1):
        label = f"tomorrow, {long_date(day)}"
    else:
        label = long_date(day)
    return f"{label} at {at:%H:%M} ({zone_name})"


def already_confirmed_page(pages: Pages) -> HTMLResponse:
    """The confirmation link opened again: say how to get in, but show no key to it."""
    return pages.notice(
        "You are already subscribed",
        "This address is confirmed. A link to your preferences is on its way to your "
        "inbox, unless one was sent a short while ago.",
    )
