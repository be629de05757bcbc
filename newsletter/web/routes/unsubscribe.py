"""Unsubscribe: the link in every mail and its RFC 8058 one-click POST.

GET only shows the page (mail scanners follow links); the POST from the page carries a
CSRF token, the one-click POST a mail provider sends carries neither cookies nor token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from newsletter.web.account import leave, recipient
from newsletter.web.deps import (
    DbSession,
    LinksDep,
    NowDep,
    PagesDep,
    UnsubscribeRow,
    read_form,
    require_csrf,
)

ONE_CLICK = "One-Click"

router = APIRouter(include_in_schema=False)


async def unsubscribe_form(request: Request) -> FormData:
    """The posted form, its CSRF token checked unless it is a one-click post."""
    form = await read_form(request)
    if form.get("List-Unsubscribe") != ONE_CLICK:
        require_csrf(request, form)
    return form


UnsubscribeForm = Annotated[FormData, Depends(unsubscribe_form)]


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(row: UnsubscribeRow, pages: PagesDep) -> HTMLResponse:
    context = {"email": row.email, "status": row.status, "action": pages.request.url.path}
    return pages.render("unsubscribe.html", context)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_post(
    form: UnsubscribeForm,
    row: UnsubscribeRow,
    session: DbSession,
    now: NowDep,
    pages: PagesDep,
    links: LinksDep,
) -> HTMLResponse:
    pause = form.get("List-Unsubscribe") != ONE_CLICK and form.get("action") == "pause"
    if leave(session, row, pause=pause, now=now):
        preferences = links.preferences(recipient(row))
        return pages.notice(
            "The digest is paused",
            "Resume it from your preferences.",
            links=[("Your preferences", preferences)],
        )
    # 200 with a page, never a redirect: one-click clients do not follow them.
    return pages.notice(
        "You are unsubscribed",
        "No more digests will be sent to this address. Changed your mind? Subscribe "
        "again from the home page.",
        links=[("Subscribe again from the home page", "/")],
    )
