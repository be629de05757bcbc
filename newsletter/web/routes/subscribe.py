"""Subscribe (with a preview) and confirm: the double opt-in pages (the work is in `signup`)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import HTMLResponse

from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import Status
from newsletter.library import LibraryError
from newsletter.web import forms
from newsletter.web.account import DONE, mail_preview, refused_message
from newsletter.web.deps import (
    ClientKey,
    ConfirmRow,
    DbSession,
    LearnerDep,
    LimitersDep,
    LimitsDep,
    MailDep,
    NowDep,
    PagesDep,
    PreviewerDep,
    RequireCsrf,
    RequirePreviewLimit,
    SettingsDep,
    SignupsDep,
    SubscribeForm,
    SubscribeUpload,
    allow,
)
from newsletter.web.library import read_lines, read_uploaded
from newsletter.web.signup import (
    SUBSCRIBED_MESSAGE,
    SUBSCRIBED_TITLE,
    Library,
    already_confirmed_page,
    confirm_and_welcome,
    confirmed_page,
    index_page,
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
    upload: SubscribeUpload,
    pages: PagesDep,
    session: DbSession,
    settings: SettingsDep,
    limiters: LimitersDep,
    limits: LimitsDep,
    client: ClientKey,
    now: NowDep,
    signups: SignupsDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    allow(limiters.subscribe, client)
    if values.website:  # the honeypot: a bot. Pretend, store nothing, send nothing.
        return pages.notice(SUBSCRIBED_TITLE, SUBSCRIBED_MESSAGE)
    zone = settings.timezone
    try:
        checked = forms.check(values, need_email=True, default_timezone=zone)
    except forms.FormError as exc:
        return index_page(pages, session, zone, status=422, values=values, problems=exc.problems)
    library: Library | None = None
    report: list[str] = []
    if upload is not None:  # read now, whatever the address: its report depends on the file
        try:
            read = read_uploaded(upload, max_bytes=limits.max_upload_bytes)
        except LibraryError as exc:
            problems = {"library": str(exc)}
            return index_page(pages, session, zone, status=422, values=values, problems=problems)
        library, report = (read, upload.filename), read_lines(read, upload.filename)
    background.add_task(signups.request, checked, now, library)  # after the answer: `signup`
    return pages.notice(SUBSCRIBED_TITLE, SUBSCRIBED_MESSAGE, details=report)


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    row: ConfirmRow, pages: PagesDep, now: NowDep, settings: SettingsDep
) -> HTMLResponse:
    action = pages.request.url.path
    if row.status in (Status.ACTIVE, Status.PAUSED):  # confirmed before: offer the manage mail
        return pages.render("confirm.html", {"email": row.email, "action": action, "done": True})
    if row.status != Status.PENDING:
        return confirmed_page(pages, row, now=now, default_zone=settings.timezone)
    context = {"email": row.email, "profile": to_profile(row.profile), "action": action}
    return pages.render("confirm.html", context)


@router.post("/confirm/{token}", response_class=HTMLResponse, dependencies=[RequireCsrf])
def confirm_post(
    row: ConfirmRow,
    session: DbSession,
    learner: LearnerDep,
    pages: PagesDep,
    now: NowDep,
    mail: MailDep,
    signups: SignupsDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    if row.status in (Status.ACTIVE, Status.PAUSED):
        # Confirmed before: the preferences link goes by mail (within the cooldown), never
        # onto this page, which anyone holding the confirmation mail can open.
        background.add_task(signups.mail_manage_link, row.id, now)
        return already_confirmed_page(pages)
    if confirm_and_welcome(row, now=now, mail=mail) and row.profile is not None:
        # The library sent with the subscribe form is learned from now, not before: an
        # unconfirmed address never costs a fit.
        learner.refit_if_learning(session, row.profile, now=now)
    return confirmed_page(pages, row, now=now, default_zone=settings.timezone)


@router.post(
    "/confirm/{token}/preview",
    response_class=HTMLResponse,
    dependencies=[RequireCsrf, RequirePreviewLimit],
)
def confirm_preview(
    row: ConfirmRow,
    pages: PagesDep,
    previewer: PreviewerDep,
    limits: LimitsDep,
    now: NowDep,
    mail: MailDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The subscribed page's "digest now" button: the confirmation link may mail one preview
    per cooldown (the first one right after confirming), and shows no preferences link."""
    cooldown = limits.confirmation_cooldown
    key = mail_preview(row, previewer=previewer, now=now, cooldown=cooldown, mail=mail)
    answer = {"done": DONE[key]} if key in DONE else {}
    if not answer:
        answer = {"refused": refused_message(key, row, cooldown) or ""}
    return confirmed_page(pages, row, now=now, default_zone=settings.timezone, **answer)
