"""Subscribe (with a preview) and confirm: the double opt-in, shared by the pages and the API.

No enumeration: whatever the address's state (new, pending, active, paused, unsubscribed,
bounced), a valid request gets the same answer, and the mail (if any) goes out after the
response. Which mail depends on the state, and at most one per address per cooldown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from newsletter.db.models import SubscriberRow
from newsletter.db.papers import list_papers
from newsletter.db.subscriptions import claim_confirmation_mail, confirm, request_subscription
from newsletter.domain import Status
from newsletter.mail.render import RenderedEmail, render_confirmation, render_manage_link
from newsletter.mail.render import render_welcome as welcome_mail
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
    full = form_context(default_zone, papers=papers, **context)
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


def confirmed_page(pages: Pages, row: SubscriberRow, preferences_url: str) -> HTMLResponse:
    """After a confirmation link was used: subscribed, or (410) the subscription ended."""
    if row.status in (Status.ACTIVE, Status.PAUSED):
        return pages.notice(
            "You are subscribed",
            "Your address is confirmed. The digest arrives from the next announcement of "
            "new papers; a welcome mail has the link to your preferences.",
            links=[("Your preferences", preferences_url)],
        )
    raise PageError(
        410,
        "This confirmation link is no longer valid",
        "The subscription it confirmed has ended. Subscribe again from the home page.",
    )
