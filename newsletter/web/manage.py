"""The pages behind the links in every mail: preferences, unsubscribe, "more/less like this".

Each is opened with a signed, purpose-scoped token (see `tokens`); GET only shows a page,
and every change is a POST carrying a CSRF token, except RFC 8058 one-click unsubscribe.
After a change the browser is redirected (303) to the page itself: a fixed path built here,
never one taken from the request.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool

from newsletter.db.models import SubscriberRow
from newsletter.db.subscriber_rows import to_profile
from newsletter.db.subscribers import unsubscribe
from newsletter.db.subscriptions import (
    claim_confirmation_mail,
    delete_subscriber,
    set_paused,
    update_preferences,
)
from newsletter.delivery.compose import Digest
from newsletter.domain import Status
from newsletter.mail.tokens import Purpose
from newsletter.web import forms
from newsletter.web.context import PageError, Web
from newsletter.web.feedback import add_feedback_routes
from newsletter.web.subscribe import form_context, read_form, values_of

ONE_CLICK = "One-Click"
DONE = {  # ?done=... after a change: the message shown, from this list only
    "saved": "Your preferences are saved. They apply from the next digest.",
    "paused": "The digest is paused. Resume it here whenever you like.",
    "resumed": "The digest is back on.",
    "preview": "A preview of your digest from the latest papers is on its way to your inbox.",
    "nothing": "Nothing in the latest papers matches your interests, so no preview was sent.",
    "wait": "A mail went to this address a short while ago; try the preview again later.",
    "stopped": "This address gets no mail (unsubscribed or bouncing), so no preview was sent.",
}


def export(row: SubscriberRow) -> dict[str, Any]:
    """Everything stored about the subscriber, as JSON (the "export my data" download)."""
    profile = to_profile(row.profile)
    return {
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


def manage_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def preferences_page(
        request: Request, row: SubscriberRow, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        who = web.recipient(row)
        base = request.url.path.removesuffix("/delete")
        done = request.query_params.get("done", "")
        context = {"values": forms.from_subscriber(row), **context}
        full = form_context(
            web,
            manage=True,
            email=row.email,
            status=row.status,
            base=base,
            done=DONE.get(done),
            feed_url=web.links.feed(who),
            unsubscribe_url=web.links.unsubscribe(who),
            **context,
        )
        return web.page(request, "preferences.html", full, status=status)

    def back_to(token: str, done: str) -> RedirectResponse:
        return RedirectResponse(f"/preferences/{token}?done={done}", status_code=303)

    @router.get("/preferences/{token}", response_class=HTMLResponse)
    def preferences(request: Request, token: str) -> HTMLResponse:
        with web.sessions() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            return preferences_page(request, row)

    @router.post("/preferences/{token}", response_class=HTMLResponse)
    async def save(request: Request, token: str) -> Response:
        form = await read_form(request)
        web.check_csrf(request, form)
        values = values_of(form)
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            try:
                checked = forms.check(
                    values, need_email=False, default_timezone=web.settings.timezone
                )
            except forms.FormError as exc:
                return preferences_page(
                    request, row, status=422, values=values, problems=exc.problems
                )
            update_preferences(row, profile=checked.profile, schedule=checked.schedule)
        return back_to(token, "saved")

    @router.post("/preferences/{token}/pause")
    async def pause(request: Request, token: str) -> Response:
        return await _pause(request, token, paused=True)

    @router.post("/preferences/{token}/resume")
    async def resume(request: Request, token: str) -> Response:
        return await _pause(request, token, paused=False)

    async def _pause(request: Request, token: str, *, paused: bool) -> Response:
        web.check_csrf(request, await read_form(request))
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            set_paused(row, paused=paused, now=web.now())
        return back_to(token, "paused" if paused else "resumed")

    @router.post("/preferences/{token}/preview")
    async def preview_now(request: Request, token: str, background: BackgroundTasks) -> Response:
        web.check_csrf(request, await read_form(request))
        if not web.preview_limiter.allow(web.client(request)):
            raise PageError(429, "Too many requests", "Please wait a while and try again.")
        # Ranking and rendering take a while: off the event loop.
        return await run_in_threadpool(_preview_now, token, background)

    def _preview_now(token: str, background: BackgroundTasks) -> Response:
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            # Never to an address that left or bounces; at most one mail per cooldown, since
            # anyone holding a forwarded digest has this link.
            if row.status not in (Status.ACTIVE, Status.PAUSED):
                return back_to(token, "stopped")
            preview = web.previewer.preview(to_profile(row.profile))
            if preview.day is None or not preview.matches:
                return back_to(token, "nothing")
            if not claim_confirmation_mail(
                row, now=web.now(), cooldown=web.limits.confirmation_cooldown
            ):
                return back_to(token, "wait")
            digest = Digest(web.recipient(row), row.email, preview.day, preview.matches)
        web.mail_later(background, digest.email, web.composer.render(digest))
        return back_to(token, "preview")

    @router.get("/preferences/{token}/export.json")
    def export_json(token: str) -> Response:
        with web.sessions() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            data = export(row)
        return Response(
            json.dumps(data, indent=2, ensure_ascii=False),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="paper-digest-profile.json"'},
        )

    @router.get("/preferences/{token}/delete", response_class=HTMLResponse)
    def delete_page(request: Request, token: str) -> HTMLResponse:
        with web.sessions() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            return web.page(
                request, "delete.html", {"email": row.email, "action": request.url.path}
            )

    @router.post("/preferences/{token}/delete", response_class=HTMLResponse)
    async def delete(request: Request, token: str) -> HTMLResponse:
        web.check_csrf(request, await read_form(request))
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.PREFERENCES, token)
            delete_subscriber(session, row)
        return web.notice(
            request,
            "Everything is deleted",
            "Your address, interests and digest history are gone, and every link in the "
            "mails you received stops working. Subscribe again any time.",
        )

    @router.get("/unsubscribe/{token}", response_class=HTMLResponse)
    def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
        with web.sessions() as session:
            row, _ = web.subscriber(session, Purpose.UNSUBSCRIBE, token)
            context = {"email": row.email, "status": row.status, "action": request.url.path}
        return web.page(request, "unsubscribe.html", context)

    @router.post("/unsubscribe/{token}", response_class=HTMLResponse)
    async def unsubscribe_post(request: Request, token: str) -> HTMLResponse:
        form = await read_form(request)
        one_click = form.get("List-Unsubscribe") == ONE_CLICK
        if not one_click:  # RFC 8058: the mail provider posts without cookies or CSRF token
            web.check_csrf(request, form)
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.UNSUBSCRIBE, token)
            pause = not one_click and form.get("action") == "pause"
            if pause and (set_paused(row, paused=True) or row.status == Status.PAUSED):
                return web.notice(
                    request, "The digest is paused", "Resume it from your preferences."
                )
            unsubscribe(session, subscriber=row, now=web.now())
        # 200 with a page, never a redirect: one-click clients do not follow them.
        return web.notice(
            request,
            "You are unsubscribed",
            "No more digests will be sent to this address. Changed your mind? Subscribe "
            "again from the home page.",
        )

    add_feedback_routes(router, web)
    return router
