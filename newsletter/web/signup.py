"""Subscribe (with a preview) and confirm: the double opt-in, shared by the pages and the API.

No enumeration: whatever the address's state (new, pending, active, paused, unsubscribed,
bounced), a valid request gets the same answer, and the mail (if any) goes out after the
response. Which mail depends on the state, and at most one per address per cooldown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from newsletter.db.models import SubscriberRow
from newsletter.db.papers import list_papers
from newsletter.db.subscriptions import claim_confirmation_mail, confirm, request_subscription
from newsletter.domain import SAMPLE_ORIGIN, Frequency, Status, is_sample
from newsletter.mail.render import (
    RenderedEmail,
    long_date,
    render_confirmation,
    render_manage_link,
)
from newsletter.mail.render import render_welcome as welcome_mail
from newsletter.pipeline.dispatch import next_send_time
from newsletter.web import forms
from newsletter.web.account import recipient
from newsletter.web.context import OutgoingMail
from newsletter.web.errors import PageError
from newsletter.web.pages import Pages, form_context

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


def request_and_mail(
    session: Session,
    checked: forms.Checked,
    *,
    now: datetime,
    cooldown: timedelta,
    resubscribe_after: timedelta,
    mail: OutgoingMail,
) -> None:
    """Store the request (never touching an active subscription) and queue the one mail
    this address may get now, if any."""
    row = request_subscription(
        session,
        email=checked.email,
        profile=checked.profile,
        schedule=checked.schedule,
        now=now,
        resubscribe_after=resubscribe_after,
    )
    if row.status == Status.BOUNCED:
        return  # the address does not exist: mailing it again only hurts reputation
    if not claim_confirmation_mail(row, now=now, cooldown=cooldown):
        return
    mail.later(row.email, _first_mail(row, mail))


def _first_mail(row: SubscriberRow, mail: OutgoingMail) -> RenderedEmail:
    who = recipient(row)
    if row.status == Status.PENDING:
        return render_confirmation(
            recipient=row.email, confirm_url=mail.links.confirm(who), masthead=mail.masthead
        )
    return render_manage_link(
        recipient=row.email,
        preferences_url=mail.links.preferences(who),
        unsubscribe_url=mail.links.unsubscribe(who),
        masthead=mail.masthead,
    )


def confirm_and_welcome(row: SubscriberRow, *, now: datetime, mail: OutgoingMail) -> None:
    """Confirm a pending subscription; the first confirmation also sends the welcome mail
    (confirming again, or an ended subscription, changes and sends nothing)."""
    if not confirm(row, now=now):
        return
    who = recipient(row)
    welcome = welcome_mail(
        recipient=row.email,
        preferences_url=mail.links.preferences(who),
        unsubscribe_url=mail.links.unsubscribe(who),
        masthead=mail.masthead,
    )
    mail.later(row.email, welcome)


def confirmed_page(
    pages: Pages,
    row: SubscriberRow,
    preferences_url: str,
    *,
    now: datetime,
    default_zone: str,
) -> HTMLResponse:
    """After a confirmation link was used: subscribed (when the first digest comes, and a
    button that mails one of the latest papers now), or (410) the subscription ended."""
    if row.status in (Status.ACTIVE, Status.PAUSED):
        context = {
            "paused": row.status == Status.PAUSED,
            "when": _next_digest(row, now=now, default_zone=default_zone),
            "preferences_url": preferences_url,
            # The manage pages take the link's token in their path, as the routes see it.
            "manage": "/preferences/" + preferences_url.rsplit("/", 1)[-1],
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
