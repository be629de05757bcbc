"""The preferences pages a digest links to: change, pause, resume, preview now, export,
delete. Opened with a signed PREFERENCES token; GET only shows, every change is a POST with
a CSRF token and ends in a redirect to the page (the work is in `account`)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from newsletter.db.subscriptions import delete_subscriber, set_paused, update_preferences
from newsletter.web import forms
from newsletter.web.account import back_to, export, mail_preview, preferences_page
from newsletter.web.deps import (
    DbSession,
    LearnerDep,
    LimitsDep,
    LinksDep,
    MailDep,
    NowDep,
    PagesDep,
    PreferencesRow,
    PreviewerDep,
    ProfileForm,
    RequireCsrf,
    RequirePreviewLimit,
    SettingsDep,
)

router = APIRouter(include_in_schema=False)


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences(
    token: str,
    row: PreferencesRow,
    pages: PagesDep,
    links: LinksDep,
    settings: SettingsDep,
    limits: LimitsDep,
) -> HTMLResponse:
    cooldown = limits.confirmation_cooldown
    return preferences_page(
        pages, row, token=token, links=links, default_zone=settings.timezone, cooldown=cooldown
    )


@router.post("/preferences/{token}", response_class=HTMLResponse)
def save(
    token: str,
    values: ProfileForm,
    row: PreferencesRow,
    pages: PagesDep,
    links: LinksDep,
    settings: SettingsDep,
    limits: LimitsDep,
    session: DbSession,
    learner: LearnerDep,
    now: NowDep,
) -> Response:
    zone = settings.timezone
    try:
        checked = forms.check(values, need_email=False, default_timezone=zone)
    except forms.FormError as exc:
        return preferences_page(
            pages,
            row,
            token=token,
            links=links,
            default_zone=zone,
            cooldown=limits.confirmation_cooldown,
            status=422,
            values=values,
            problems=exc.problems,
        )
    update_preferences(row, profile=checked.profile, schedule=checked.schedule)
    if row.profile is not None:  # the prior its model learned on changed
        learner.refit_if_learning(session, row.profile, now=now)
    return back_to(token, "saved")


@router.post("/preferences/{token}/pause", dependencies=[RequireCsrf])
def pause(token: str, row: PreferencesRow, now: NowDep) -> Response:
    set_paused(row, paused=True, now=now)
    return back_to(token, "paused")


@router.post("/preferences/{token}/resume", dependencies=[RequireCsrf])
def resume(token: str, row: PreferencesRow, now: NowDep) -> Response:
    set_paused(row, paused=False, now=now)
    return back_to(token, "resumed")


@router.post("/preferences/{token}/preview", dependencies=[RequireCsrf, RequirePreviewLimit])
def preview_now(
    token: str,
    row: PreferencesRow,
    previewer: PreviewerDep,
    limits: LimitsDep,
    now: NowDep,
    mail: MailDep,
) -> Response:
    cooldown = limits.confirmation_cooldown
    done = mail_preview(row, previewer=previewer, now=now, cooldown=cooldown, mail=mail)
    return back_to(token, done)


@router.get("/preferences/{token}/export.json")
def export_json(row: PreferencesRow) -> Response:
    return Response(
        json.dumps(export(row), indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="paper-digest-profile.json"'},
    )


@router.get("/preferences/{token}/delete", response_class=HTMLResponse)
def delete_page(row: PreferencesRow, pages: PagesDep) -> HTMLResponse:
    return pages.render("delete.html", {"email": row.email, "action": pages.request.url.path})


@router.post("/preferences/{token}/delete", response_class=HTMLResponse, dependencies=[RequireCsrf])
def delete(row: PreferencesRow, session: DbSession, pages: PagesDep) -> HTMLResponse:
    delete_subscriber(session, row)
    return pages.notice(
        "Everything is deleted",
        "Your address, interests and digest history are gone, and every link in the "
        "mails you received stops working. Subscribe again any time.",
        links=[("Subscribe again from the home page", "/")],
    )
