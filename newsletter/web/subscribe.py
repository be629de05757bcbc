"""Subscribe (with a preview) and confirm: the double opt-in pages.

No enumeration: whatever the address's state (new, pending, active, paused, unsubscribed,
bounced), a valid form gets the same page, and the mail (if any) goes out after the
response. Which mail depends on the state, and at most one per address per cooldown.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from newsletter.db.papers import list_papers
from newsletter.db.subscriber_rows import to_profile
from newsletter.db.subscriptions import claim_confirmation_mail, confirm, request_subscription
from newsletter.domain import Status
from newsletter.mail.render import RenderedEmail, render_confirmation, render_manage_link
from newsletter.mail.render import render_welcome as welcome_mail
from newsletter.mail.tokens import Purpose
from newsletter.web import forms
from newsletter.web.context import PageError, Web
from newsletter.web.preview import Preview

MAX_FIELDS = 200  # a form has ~20 fields and a dozen category boxes
MAX_PART = 16_000
SUBSCRIBED_TITLE = "Check your inbox"
SUBSCRIBED_MESSAGE = (
    "If the address can receive the digest, a message is on its way: open the link in it "
    "to confirm (or to manage an existing subscription). Nothing is sent until you do."
)


def form_context(web: Web, **context: Any) -> dict[str, Any]:
    return {
        "values": forms.FormValues(timezone=web.settings.timezone),
        "problems": {},
        "labels": forms.LABELS,
        "zones": forms.time_zones(),
        "categories": forms.COMMON_CATEGORIES,
        "weekdays": forms.WEEKDAYS,
        "default_zone": web.settings.timezone,
        "manage": False,
        "preview": None,
        **context,
    }


async def read_form(request: Request) -> FormData:
    return await request.form(max_fields=MAX_FIELDS, max_files=0, max_part_size=MAX_PART)


def values_of(form: FormData) -> forms.FormValues:
    texts = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    ticked = [v for v in form.getlist("categories") if isinstance(v, str)]
    return forms.from_form(texts, ticked)


def subscribe_router(web: Web) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def index_page(request: Request, *, status: int = 200, **context: Any) -> HTMLResponse:
        with web.sessions() as session:
            papers = list_papers(session, limit=30)
        return web.page(
            request, "index.html", form_context(web, papers=papers, **context), status=status
        )

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return index_page(request)

    @router.post("/preview", response_class=HTMLResponse)
    async def preview(request: Request) -> HTMLResponse:
        form = await read_form(request)
        web.check_csrf(request, form, path="/")
        if not web.preview_limiter.allow(web.client(request)):
            raise PageError(429, "Too many requests", "Please wait a while and try again.")
        values = values_of(form)
        try:
            checked = forms.check(values, need_email=False, default_timezone=web.settings.timezone)
        except forms.FormError as exc:
            return index_page(request, status=422, values=values, problems=exc.problems)
        # Ranking takes a while (embeddings too, when on): off the event loop, so other
        # requests are served meanwhile.
        result: Preview = await run_in_threadpool(web.previewer.preview, checked.profile)
        return index_page(request, values=values, preview=result)

    @router.post("/", response_class=HTMLResponse)
    async def subscribe(request: Request, background: BackgroundTasks) -> HTMLResponse:
        form = await read_form(request)
        web.check_csrf(request, form)
        if not web.subscribe_limiter.allow(web.client(request)):
            raise PageError(429, "Too many requests", "Please wait a while and try again.")
        values = values_of(form)
        if values.website:  # the honeypot: a bot. Pretend, store nothing, send nothing.
            return web.notice(request, SUBSCRIBED_TITLE, SUBSCRIBED_MESSAGE)
        try:
            checked = forms.check(values, need_email=True, default_timezone=web.settings.timezone)
        except forms.FormError as exc:
            return index_page(request, status=422, values=values, problems=exc.problems)
        await run_in_threadpool(request_and_mail, web, checked, background)
        return web.notice(request, SUBSCRIBED_TITLE, SUBSCRIBED_MESSAGE)

    @router.get("/confirm/{token}", response_class=HTMLResponse)
    def confirm_page(request: Request, token: str) -> HTMLResponse:
        with web.sessions() as session:
            row, _ = web.subscriber(session, Purpose.CONFIRM, token)
            if row.status != Status.PENDING:
                return _confirmed_page(web, request, row.status, web.recipient(row))
            context = {
                "email": row.email,
                "profile": to_profile(row.profile),
                "action": request.url.path,
            }
        return web.page(request, "confirm.html", context)

    @router.post("/confirm/{token}", response_class=HTMLResponse)
    async def confirm_post(
        request: Request, token: str, background: BackgroundTasks
    ) -> HTMLResponse:
        form = await read_form(request)
        web.check_csrf(request, form)
        with web.sessions.begin() as session:
            row, _ = web.subscriber(session, Purpose.CONFIRM, token)
            who = web.recipient(row)
            if confirm(row, now=web.now()):
                mail = welcome_mail(
                    recipient=row.email,
                    preferences_url=web.links.preferences(who),
                    unsubscribe_url=web.links.unsubscribe(who),
                    masthead=web.composer.masthead,
                )
                web.mail_later(background, row.email, mail)
            status = row.status
        return _confirmed_page(web, request, status, who)

    return router


def _confirmed_page(web: Web, request: Request, status: str, who: Any) -> HTMLResponse:
    if status in (Status.ACTIVE, Status.PAUSED):
        return web.notice(
            request,
            "You are subscribed",
            "Your address is confirmed. The digest arrives from the next announcement of "
            "new papers; a welcome mail has the link to your preferences.",
            links=[("Your preferences", web.links.preferences(who))],
        )
    raise PageError(
        410,
        "This confirmation link is no longer valid",
        "The subscription it confirmed has ended. Subscribe again from the home page.",
    )


def request_and_mail(web: Web, checked: forms.Checked, background: BackgroundTasks) -> None:
    """Store the request (never touching an active subscription) and queue the one mail
    this address may get now, if any."""
    mail: RenderedEmail | None = None
    with web.sessions.begin() as session:
        row = request_subscription(
            session,
            email=checked.email,
            profile=checked.profile,
            schedule=checked.schedule,
            now=web.now(),
            resubscribe_after=timedelta(days=web.settings.bounce_resubscribe_days),
        )
        if row.status == Status.BOUNCED:
            return  # the address does not exist: mailing it again only hurts reputation
        if not claim_confirmation_mail(
            row, now=web.now(), cooldown=web.limits.confirmation_cooldown
        ):
            return
        who = web.recipient(row)
        if row.status == Status.PENDING:
            mail = render_confirmation(
                recipient=row.email,
                confirm_url=web.links.confirm(who),
                masthead=web.composer.masthead,
            )
        else:
            mail = render_manage_link(
                recipient=row.email,
                preferences_url=web.links.preferences(who),
                unsubscribe_url=web.links.unsubscribe(who),
                masthead=web.composer.masthead,
            )
        email = row.email
    web.mail_later(background, email, mail)
