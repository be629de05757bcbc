"""Subscribe (with a preview) and confirm: the double opt-in pages (the work is in `signup`)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import Status
from newsletter.web import forms
from newsletter.web.account import recipient
from newsletter.web.deps import (
    ClientKey,
    ConfirmRow,
    DbSession,
    LimitersDep,
    LimitsDep,
    LinksDep,
    MailDep,
    NowDep,
    PagesDep,
    PreviewerDep,
    RequireCsrf,
    SettingsDep,
    SubscribeForm,
    allow,
)
from newsletter.web.signup import (
    SUBSCRIBED_MESSAGE,
    SUBSCRIBED_TITLE,
    confirm_and_welcome,
    confirmed_page,
    index_page,
    request_and_mail,
)

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(pages: PagesDep, session: DbSession, settings: SettingsDep) -> HTMLResponse:
    return index_page(pages, session, settings.timezone)


@router.post("/preview", response_class=HTMLResponse)
def preview(
    values: SubscribeForm,
    pages: PagesDep,
    session: DbSession,
    settings: SettingsDep,
    limiters: LimitersDep,
    client: ClientKey,
    previewer: PreviewerDep,
) -> HTMLResponse:
    allow(limiters.preview, client)
    zone = settings.timezone
    try:
        checked = forms.check(values, need_email=False, default_timezone=zone)
    except forms.FormError as exc:
        return index_page(pages, session, zone, status=422, values=values, problems=exc.problems)
    # Ranking takes a while (embeddings too, when on): a plain `def` route, so it runs in
    # the thread pool and other requests are served meanwhile.
    result = previewer.preview(checked.profile)
    return index_page(pages, session, zone, values=values, preview=result)


@router.post("/", response_class=HTMLResponse)
def subscribe(
    values: SubscribeForm,
    pages: PagesDep,
    session: DbSession,
    settings: SettingsDep,
    limits: LimitsDep,
    limiters: LimitersDep,
    client: ClientKey,
    now: NowDep,
    mail: MailDep,
) -> HTMLResponse:
    allow(limiters.subscribe, client)
    if values.website:  # the honeypot: a bot. Pretend, store nothing, send nothing.
        return pages.notice(SUBSCRIBED_TITLE, SUBSCRIBED_MESSAGE)
    zone = settings.timezone
    try:
        checked = forms.check(values, need_email=True, default_timezone=zone)
    except forms.FormError as exc:
        return index_page(pages, session, zone, status=422, values=values, problems=exc.problems)
    request_and_mail(
        session,
        checked,
        now=now,
        cooldown=limits.confirmation_cooldown,
        resubscribe_after=timedelta(days=settings.bounce_resubscribe_days),
        mail=mail,
    )
    return pages.notice(SUBSCRIBED_TITLE, SUBSCRIBED_MESSAGE)


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    row: ConfirmRow, pages: PagesDep, links: LinksDep, now: NowDep, settings: SettingsDep
) -> HTMLResponse:
    if row.status != Status.PENDING:
        preferences = links.preferences(recipient(row))
        return confirmed_page(pages, row, preferences, now=now, default_zone=settings.timezone)
    action = pages.request.url.path
    context = {"email": row.email, "profile": to_profile(row.profile), "action": action}
    return pages.render("confirm.html", context)


@router.post("/confirm/{token}", response_class=HTMLResponse, dependencies=[RequireCsrf])
def confirm_post(
    row: ConfirmRow,
    pages: PagesDep,
    links: LinksDep,
    now: NowDep,
    mail: MailDep,
    settings: SettingsDep,
) -> HTMLResponse:
    confirm_and_welcome(row, now=now, mail=mail)
    preferences = links.preferences(recipient(row))
    return confirmed_page(pages, row, preferences, now=now, default_zone=settings.timezone)
