"""A reader's topics on the preferences pages: the list, a topic's own page, the changes.

Each topic is a full profile (see newsletter.db.topics) with its own page under the
preferences link: its interests form (the schedule stays on the preferences page: one mail,
one schedule), its name, its library upload, the ways to its rating page and to what it
learned, and its own Atom feed. After a change the pages redirect (303) to a path built
from the link's token and the topic's id, never to one taken from the request, with
`?done=` naming a message of DONE.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.db.models import (
    InterestProfileRow,
    LibraryEntryRow,
    SubscriberRow,
    TopicModelRow,
    VoteRow,
)
from newsletter.db.topics import MAX_NAME, MAX_TOPICS, topics_of
from newsletter.domain import InterestProfile
from newsletter.mail.links import Links, Recipient
from newsletter.web import forms
from newsletter.web.pages import Pages, form_context

DONE = {  # ?done=... on a topic's page: the message shown, from this list only
    "added": "Topic added. Describe it below, import the papers you know, or rate a few to begin.",
    "saved": "This topic is saved. It applies from the next digest.",
    "renamed": "The topic is renamed.",
    "reset": "What this topic learned from your votes and ratings is forgotten; its written "
    "interests and its library stay.",
    "library-removed": "This topic's library is removed.",
}
PREFERENCES_DONE = {  # ?done=... on the preferences page, for changes to the list
    "moved": "Your topics are reordered.",
    "deleted": "The topic is deleted, with its library, votes and what it learned.",
}


@dataclass(frozen=True)
class TopicSummary:
    """A topic as the preferences page lists it."""

    id: int
    name: str
    position: int
    library: int
    votes: int
    fitted_at: datetime | None


def summaries(session: Session, subscriber_id: int) -> list[TopicSummary]:
    topics = topics_of(session, subscriber_id)
    ids = [t.id for t in topics]
    library = _counts(session, LibraryEntryRow.topic_id, ids)
    votes = _counts(session, VoteRow.topic_id, ids)
    fitted = dict(
        session.execute(
            select(TopicModelRow.topic_id, TopicModelRow.fitted_at).where(
                TopicModelRow.topic_id.in_(ids), TopicModelRow.model.is_not(None)
            )
        ).all()
    )
    return [
        TopicSummary(t.id, t.name, t.position, library.get(t.id, 0), votes.get(t.id, 0),
                     fitted.get(t.id))
        for t in topics
    ]  # fmt: skip


def _counts(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(column, func.count()).where(column.in_(ids)).group_by(column)
    ).all()
    return {int(topic): int(count) for topic, count in rows}


def topic_path(token: str, topic_id: int, suffix: str = "") -> str:
    return f"/preferences/{token}/topics/{topic_id}{suffix}"


def back_to_topic(token: str, topic_id: int, done: str) -> RedirectResponse:
    """The topic's page again, saying what was `done` (a key of DONE)."""
    return RedirectResponse(f"{topic_path(token, topic_id)}?done={done}", status_code=303)


def topic_page(
    pages: Pages,
    session: Session,
    row: SubscriberRow,
    topic: InterestProfileRow,
    *,
    token: str,
    default_zone: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The topic's page, its form filled in from the topic unless `context` has what was
    typed (`values`, `problems`), with an import's `report` when there is one."""
    topics = summaries(session, row.id)
    this = next(t for t in topics if t.id == topic.id)
    full = form_context(
        default_zone,
        manage=True,
        topic_form=True,
        topic=this,
        topics=topics,
        name_value=topic.name,
        max_name=MAX_NAME,
        email=row.email,
        base=topic_path(token, topic.id),
        preferences=f"/preferences/{token}",
        done=DONE.get(pages.request.query_params.get("done", "")),
        feed_url=topic_feed(pages, row, topic),
        **{"values": forms.from_subscriber(row, topic), "report": [], **context},
    )
    return pages.render("topic.html", full, status=status)


def topic_feed(pages: Pages, row: SubscriberRow, topic: InterestProfileRow) -> str:
    """The topic's own Atom feed (the reader's feed of this topic's papers only)."""
    links = cast(Links, pages.request.app.state.links)  # as web.deps.get_links reads it
    return links.feed(Recipient(row.id, row.token_key), topic=topic.id)


def checked_profile(
    values: forms.FormValues, row: SubscriberRow, *, default_zone: str
) -> InterestProfile:
    """The topic form's profile, checked like the preferences form (FormError); the
    schedule is the subscriber's, as stored (it is not on a topic's page)."""
    stored = forms.from_subscriber(row)
    values = replace(
        values,
        send_hour=stored.send_hour,
        timezone=stored.timezone,
        frequency=stored.frequency,
        send_weekday=stored.send_weekday,
    )
    return forms.check(values, need_email=False, default_timezone=default_zone).profile


def topics_context(session: Session, row: SubscriberRow, token: str) -> dict[str, Any]:
    """What the preferences page shows of the topics (its list and forms)."""
    topics = summaries(session, row.id)
    return {
        "topics": topics,
        "topic_base": f"/preferences/{token}/topics",
        "max_topics": MAX_TOPICS,
        "max_name": MAX_NAME,
        "first_topic": topics[0] if topics else None,
    }


def profile_json(profile: InterestProfile) -> dict[str, Any]:
    return {
        "description": profile.description,
        "keywords": list(profile.keywords),
        "exclude": list(profile.exclude),
        "categories": list(profile.categories),
        "category_mode": profile.category_mode.value,
        "authors": list(profile.authors),
        "seed_papers": list(profile.seed_papers),
        "disliked_papers": list(profile.disliked_papers),
    }
