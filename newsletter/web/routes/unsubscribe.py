"""Unsubscribe: the link in every mail and its RFC 8058 one-click POST.

GET only shows the page (mail scanners follow links); the POST from the page carries a
CSRF token, the one-click POST a mail provider sends carries neither cookies nor token.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from newsletter.mail.tokens import Purpose
from newsletter.web.account import leave
from newsletter.web.deps import (
    Durably,
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
async def unsubscribe_post(
    token: str, form: UnsubscribeForm, durably: Durably, now: NowDep, pages: PagesDep
) -> HTMLResponse:
    """Stored whatever it takes: a held database lock delays the answer, never loses it
    (a mail provider posts a one-click unsubscribe once)."""
    pause = form.get("List-Unsubscribe") != ONE_CLICK and form.get("action") == "pause"
    change = functools.partial(leave, pause=pause, now=now)
    if await durably.apply(Purpose.UNSUBSCRIBE, token, change):
        return pages.notice("The digest is paused", "Resume it from your preferences.")
    # 200 with a page, never a redirect: one-click clients do not follow them.
    return pages.notice(
        "You are unsubscribed",
        "No more digests will be sent to this address. Changed your mind? Subscribe "
        "again from the home page.",
        links=[("Subscribe again from the home page", "/")],
    )
