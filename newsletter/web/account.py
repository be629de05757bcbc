"""What a subscriber does from the links in their mail: see and change the preferences,
get a preview now, pause, leave, take their data with them.

The work behind the manage, unsubscribe and API routes; the routes only read the request
and choose the answer. After a change the pages redirect (303) to a fixed path built from
the link's token, never to one taken from the request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session, object_session

from newsletter.db.examples import library_of, votes_of
from newsletter.db.models import SubscriberRow
from newsletter.db.subscriber_rows import to_profile
from newsletter.db.subscribers import unsubscribe
from newsletter.db.subscriptions import claim_preview_mail, set_paused
from newsletter.db.topic_models import models_for
from newsletter.db.topics import topics_of
from newsletter.delivery.compose import Digest
from newsletter.domain import Status, TopicTag
from newsletter.mail.links import Links, Recipient
from newsletter.web import forms
from newsletter.web.context import MailClaim, OutgoingMail
from newsletter.web.pages import Pages, form_context
from newsletter.web.preview import Previewer
from newsletter.web.topics import PREFERENCES_DONE, profile_json, topics_context

DONE = {  # ?done=... after a change: the message shown, from this list only
    "saved": "Your preferences are saved. They apply from the next digest.",
    "paused": "The digest is paused. Resume it here whenever you like.",
    "resumed": "The digest is back on.",
    "preview": "A preview of your digest from the latest papers is on its way to your inbox.",
    **PREFERENCES_DONE,
}
# Outcomes that sent nothing: shown as problems, each saying what to do instead.
REFUSED = {
    "nothing": "No preview was sent: nothing in the latest papers matches your interests. "
    "Try broader keywords or more categories below, save, and ask again.",
    "wait": "No preview was sent: a mail went to this address a short while ago, and this "
    "link sends at most one every {minutes} minutes. Try again after {time} (UTC).",
    "stopped": "No preview was sent: this address gets no mail (unsubscribed or bouncing). "
    "Subscribe again from the home page to get mail here.",
}


def recipient(row: SubscriberRow) -> Recipient:
    return Recipient(row.id, row.token_key)


def back_to(token: str, done: str, *, anchor: str = "") -> RedirectResponse:
    """The preferences page again (at `anchor`), saying what was `done` (a key of DONE)."""
    fragment = f"#{anchor}" if anchor else ""
    return RedirectResponse(f"/preferences/{token}?done={done}{fragment}", status_code=303)


def preferences_page(
    pages: Pages,
    row: SubscriberRow,
    *,
    token: str,
    links: Links,
    default_zone: str,
    cooldown: timedelta,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The preferences form, filled in from the row unless `context` has what was typed,
    and the reader's topics."""
    who = recipient(row)
    request = pages.request
    session = object_session(row)
    assert session is not None, "the row must belong to the request's session"
    full = form_context(
        default_zone,
        manage=True,
        email=row.email,
        status=row.status,
        base=f"/preferences/{token}",
        done=DONE.get(key := request.query_params.get("done", "")),
        refused=refused_message(key, row, cooldown),
        feed_url=links.feed(who),
        unsubscribe_url=links.unsubscribe(who),
        **topics_context(session, row, token),
        **{"values": forms.from_subscriber(row), **context},
    )
    return pages.render("preferences.html", full, status=status)


def refused_message(key: str, row: SubscriberRow, cooldown: timedelta) -> str | None:
    message = REFUSED.get(key)
    if message is None or key != "wait":
        return message
    last = row.confirmation_sent_at
    again = (last + cooldown).strftime("%H:%M") if last else "a while"
    return message.format(minutes=int(cooldown.total_seconds() // 60), time=again)


def mail_preview(
    row: SubscriberRow,
    *,
    previewer: Previewer,
    now: datetime,
    cooldown: timedelta,
    mail: OutgoingMail,
) -> str:
    """Mail the digest the latest papers would make, every topic with its model, as the
    daily digest would; the DONE key that says what happened.

    Never to an address that left or bounces; at most one mail per cooldown, since anyone
    holding a forwarded digest has this link (the confirmation mail the reader answered
    does not count: the first preview right after confirming goes out). Ranks a day of
    papers: call it off the event loop."""
    if row.status not in (Status.ACTIVE, Status.PAUSED):
        return "stopped"
    session = object_session(row)
    assert session is not None  # the route's row, from its session
    topics = topics_of(session, row.id)
    day, chosen = previewer.preview_topics(
        [(TopicTag(topic.id, topic.name), to_profile(topic)) for topic in topics],
        models_for(session, [topic.id for topic in topics]),
    )
    if day is None or not chosen:
        return "nothing"
    claim = claim_preview_mail(row, now=now, cooldown=cooldown)
    if claim is None:
        return "wait"
    matches, tags = [match for _, match in chosen], [tag for tag, _ in chosen]
    digest = Digest(recipient(row), row.email, day, matches, topics=tags)
    mail.later(digest.email, mail.composer.render(digest), MailClaim(claim))
    return "preview"


def leave(session: Session, row: SubscriberRow, *, pause: bool, now: datetime) -> bool:
    """Unsubscribe, or only pause when asked to (and the subscription can be paused);
    True when it is paused."""
    if pause and (set_paused(row, paused=True) or row.status == Status.PAUSED):
        return True
    unsubscribe(session, subscriber=row, now=now)
    return False


def export(row: SubscriberRow) -> dict[str, Any]:
    """Everything stored about the subscriber, as JSON (the "export my data" download):
    `profile` is the first topic's, `topics` every topic with its library and votes."""
    profile = to_profile(row.profile)
    session = object_session(row)
    topics = export_topics(session, row.id) if session is not None else []
    return {
        "topics": topics,
        "email": row.email,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
        "schedule": {
            "timezone": row.timezone,
            "send_hour": row.send_hour,
            "frequency": row.frequency,
            "send_weekday": row.send_weekday,
        },
        "profile": {
            "description": profile.description,
            "keywords": list(profile.keywords),
            "exclude": list(profile.exclude),
            "categories": list(profile.categories),
            "category_mode": profile.category_mode.value,
            "authors": list(profile.authors),
            "seed_papers": list(profile.seed_papers),
            "disliked_papers": list(profile.disliked_papers),
        },
    }


def export_topics(session: Session, subscriber_id: int) -> list[dict[str, Any]]:
    """Every topic: its name, profile, library and votes (what it learned from)."""
    exported = []
    for topic in topics_of(session, subscriber_id):
        exported.append(
            {
                "name": topic.name,
                "position": topic.position,
                "profile": profile_json(to_profile(topic)),
                "library": [
                    {
                        "key": e.key,
                        "title": e.title,
                        "abstract": e.abstract,
                        "authors": list(e.authors or []),
                        "year": e.year,
                        "doi": e.doi,
                        "url": e.url,
                        "added_at": e.added_at.isoformat(),
                    }
                    for e in library_of(session, topic.id)
                ],
                "votes": [
                    {
                        "paper": v.paper_id,
                        "title": v.title,
                        "liked": v.liked,
                        "source": v.source,
                        "at": v.voted_at.isoformat(),
                    }
                    for v in votes_of(session, topic.id)
                ],
            }
        )
    return exported
