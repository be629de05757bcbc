"""A subscriber's papers outside the mailbox: the personal Atom feed and "view in browser"
(the work is in `digests`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

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
) -> Response:
    body = personal_feed(
        session,
        row,
        base_url=settings.base_url,
        list_name=site.list_name,
        self_url=links.feed(recipient(row)),
        digests=limits.feed_digests,
        now=now,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/digest/{token}", response_class=HTMLResponse)
def view(link: ViewLink, session: DbSession, composer: ComposerDep) -> HTMLResponse:
    html = digest_html(session, link.row, link.claims.extra, composer)
    return HTMLResponse(html, headers={"Content-Security-Policy": _SANDBOXED})
