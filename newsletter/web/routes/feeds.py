"""A subscriber's papers outside the mailbox: the personal Atom feed and "view in browser"
(the work is in `digests`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.topics import topic_of
from newsletter.web.account import recipient
from newsletter.web.deps import (
    ComposerDep,
    DbSession,
    FeedRow,
    LimitsDep,
    LinksDep,
    NowDep,
    SettingsDep,
    SiteDep,
    ViewLink,
)
from newsletter.web.digests import digest_html, personal_feed
from newsletter.web.errors import PageError
from newsletter.web.feedback import topic_number

# The mail's HTML is shown as the recipient's client would: no scripts, no forms.
_SANDBOXED = "sandbox allow-popups; default-src 'none'; style-src 'unsafe-inline'; img-src data:"

router = APIRouter(include_in_schema=False)


@router.get("/feed/{token}.xml")
def feed(
    row: FeedRow,
    session: DbSession,
    settings: SettingsDep,
    site: SiteDep,
    links: LinksDep,
    limits: LimitsDep,
    now: NowDep,
    topic: str | None = None,
) -> Response:
    """The reader's feed; `?topic=ID`: one topic's papers (404 for a topic not theirs)."""
    chosen = _feed_topic(session, row, topic)
    body = personal_feed(
        session,
        row,
        base_url=settings.base_url,
        list_name=site.list_name,
        self_url=links.feed(recipient(row), topic=chosen.id if chosen else None),
        digests=limits.feed_digests,
        now=now,
        topic=chosen,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/digest/{token}", response_class=HTMLResponse)
def view(link: ViewLink, session: DbSession, composer: ComposerDep) -> HTMLResponse:
    html = digest_html(session, link.row, link.claims.extra, composer)
    return HTMLResponse(html, headers={"Content-Security-Policy": _SANDBOXED})


def _feed_topic(
    session: Session, row: SubscriberRow, topic: str | None
) -> InterestProfileRow | None:
    number = topic_number(topic)
    if number is None:
        return None
    found = topic_of(session, row.id, number)
    if found is None:
        raise PageError(404, "No such topic", "This feed's topic was deleted, or is not yours.")
    return found
