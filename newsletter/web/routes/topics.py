"""A reader's topics under the preferences link: add, open, change, rename, reorder, delete,
import papers into, see what each learned and reset it (the work is in `web.topics`,
`web.learned` and newsletter.db.topics). GET only shows; every change is a POST with a CSRF
token. A change that alters a topic's examples (an import, a removed library, a reset, a
changed profile) refits its model before the answer, in the request's worker thread."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.examples import remove_library, reset_votes
from newsletter.db.subscriber_rows import write_profile
from newsletter.db.topics import TopicError, add_topic, delete_topic, move_topic, rename_topic
from newsletter.library import LibraryError
from newsletter.normalize import storable_text
from newsletter.subscribers.learning import NO_EMBEDDER, NO_PAPERS, Refit
from newsletter.subscribers.library_import import store_entries
from newsletter.web import forms
from newsletter.web.account import back_to, preferences_page
from newsletter.web.deps import (
    CsrfForm,
    DbSession,
    LearnerDep,
    LibraryUpload,
    LimitsDep,
    LinksDep,
    NowDep,
    PagesDep,
    PreferencesRow,
    ProfileForm,
    RequireCsrf,
    SessionsDep,
    SettingsDep,
    TopicRow,
)
from newsletter.web.learned import learned
from newsletter.web.library import read_uploaded, report_lines
from newsletter.web.topics import (
    DONE,
    back_to_topic,
    checked_profile,
    topic_page,
    topic_path,
)

router = APIRouter(include_in_schema=False)
SOURCES = {"digest": "from a digest", "rating": "rated here", "web": "from the API"}


@router.post("/preferences/{token}/topics", response_class=HTMLResponse)
def add(
    token: str,
    form: CsrfForm,
    row: PreferencesRow,
    session: DbSession,
    pages: PagesDep,
    links: LinksDep,
    settings: SettingsDep,
    limits: LimitsDep,
) -> Response:
    typed = {k: storable_text(v) for k, v in form.multi_items() if isinstance(v, str)}
    name = typed.get("name", "")
    new = {"name": name, "description": typed.get("description", ""),
           "keywords": typed.get("keywords", "")}  # fmt: skip
    try:
        values = forms.FormValues(description=new["description"], keywords=new["keywords"])
        profile = checked_profile(values, row, default_zone=settings.timezone)
        topic = add_topic(session, row, name=name, profile=profile)
    except (forms.FormError, TopicError) as exc:
        problems = exc.problems if isinstance(exc, forms.FormError) else {"name": str(exc)}
        return preferences_page(
            pages, row, token=token, links=links, default_zone=settings.timezone,
            cooldown=limits.confirmation_cooldown, status=422, topic_problems=problems,
            new_topic=new,
        )  # fmt: skip
    return back_to_topic(token, topic.id, "added")


@router.get("/preferences/{token}/topics/{topic_id}", response_class=HTMLResponse)
def show(
    token: str, topic: TopicRow, row: PreferencesRow, session: DbSession, pages: PagesDep,
    settings: SettingsDep,
) -> HTMLResponse:  # fmt: skip
    return topic_page(pages, session, row, topic, token=token, default_zone=settings.timezone)


@router.post("/preferences/{token}/topics/{topic_id}", response_class=HTMLResponse)
def save(
    token: str, values: ProfileForm, topic: TopicRow, row: PreferencesRow, session: DbSession,
    pages: PagesDep, settings: SettingsDep, learner: LearnerDep, now: NowDep,
) -> Response:  # fmt: skip
    zone = settings.timezone
    try:
        profile = checked_profile(values, row, default_zone=zone)
    except forms.FormError as exc:
        return topic_page(
            pages, session, row, topic, token=token, default_zone=zone, status=422,
            values=values, problems=exc.problems,
        )  # fmt: skip
    write_profile(topic, profile)
    learner.refit_if_learning(session, topic, now=now)  # the prior it learned on changed
    return back_to_topic(token, topic.id, "saved")


@router.post("/preferences/{token}/topics/{topic_id}/rename", response_class=HTMLResponse)
def rename(
    token: str, form: CsrfForm, topic: TopicRow, row: PreferencesRow, session: DbSession,
    pages: PagesDep, settings: SettingsDep,
) -> Response:  # fmt: skip
    name = form.get("name")
    try:
        rename_topic(session, topic, storable_text(name) if isinstance(name, str) else "")
    except TopicError as exc:  # the page shows the stored name, the problem says why
        return topic_page(
            pages, session, row, topic, token=token, default_zone=settings.timezone,
            status=422, problems={"name": str(exc)},
        )  # fmt: skip
    return back_to_topic(token, topic.id, "renamed")


@router.post("/preferences/{token}/topics/{topic_id}/move", dependencies=[RequireCsrf])
def move(token: str, form: CsrfForm, topic: TopicRow, session: DbSession) -> Response:
    position = form.get("position")
    if not (isinstance(position, str) and position.isascii() and position.isdigit()):
        return back_to(token, "moved", anchor="topics")  # an edited form: nothing to move
    move_topic(session, topic, int(position[:3]))
    return back_to(token, "moved", anchor="topics")


@router.post("/preferences/{token}/topics/{topic_id}/delete", dependencies=[RequireCsrf])
def delete(
    token: str, topic: TopicRow, row: PreferencesRow, session: DbSession, pages: PagesDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    try:
        delete_topic(session, topic)
    except TopicError as exc:
        return topic_page(
            pages, session, row, topic, token=token, default_zone=settings.timezone,
            status=409, problems={"topics": str(exc)},
        )  # fmt: skip
    return back_to(token, "deleted", anchor="topics")


@router.post("/preferences/{token}/topics/{topic_id}/library", response_class=HTMLResponse)
def import_library(
    token: str, upload: LibraryUpload, topic: TopicRow, row: PreferencesRow, session: DbSession,
    pages: PagesDep, settings: SettingsDep, limits: LimitsDep, learner: LearnerDep, now: NowDep,
) -> HTMLResponse:  # fmt: skip
    zone = settings.timezone
    try:
        if upload is None:
            raise LibraryError("choose a library file to import")
        read = read_uploaded(upload, max_bytes=limits.max_upload_bytes)
    except LibraryError as exc:
        return topic_page(
            pages, session, row, topic, token=token, default_zone=zone, status=422,
            report=[f"Nothing was imported: {exc}."], report_failed=True,
        )  # fmt: skip
    report = store_entries(session, topic.id, read, source=upload.filename, now=now)
    refit = learner.refit(session, topic, now=now)
    return topic_page(
        pages, session, row, topic, token=token, default_zone=zone, report=report_lines(report),
        report_failed=not report.added and bool(report.problems), refit_note=refit_note(refit),
    )  # fmt: skip


def refit_note(refit: Refit) -> str:
    if refit.fitted:
        count = refit.examples
        return f"This topic now learns from {count} example{'' if count == 1 else 's'}."
    return f"Nothing could be learned yet: {refit.reason}." if refit.reason else ""


@router.get("/preferences/{token}/topics/{topic_id}/learned", response_class=HTMLResponse)
def learned_page(
    token: str, topic: TopicRow, row: PreferencesRow, session: DbSession, pages: PagesDep,
    sessions: SessionsDep, learner: LearnerDep,
) -> HTMLResponse:  # fmt: skip
    # Vectors missing from the cache are computed and kept in it (a cache: the same page
    # would compute the same again), in transactions of their own; nothing else is written.
    cache = DbEmbeddingCache(sessions)
    found = learned(session, row, topic, embedder=learner.embedder, cache=cache)
    context = {
        "topic_name": topic.name,
        "topic_url": topic_path(token, topic.id),
        "base": topic_path(token, topic.id, "/learned"),
        "learned": found,
        "sources": SOURCES,
        "owed_reason": NO_EMBEDDER if learner.embedder is None else NO_PAPERS,
        "done": DONE.get(pages.request.query_params.get("done", "")),
    }
    return pages.render("learned.html", context)


@router.post("/preferences/{token}/topics/{topic_id}/learned/reset", dependencies=[RequireCsrf])
def reset(
    token: str, topic: TopicRow, session: DbSession, learner: LearnerDep, now: NowDep
) -> Response:
    reset_votes(session, topic, now=now)
    learner.refit_if_learning(session, topic, now=now)  # the library alone, if any
    return _back_to_learned(token, topic.id, "reset")


@router.post(
    "/preferences/{token}/topics/{topic_id}/learned/library/remove", dependencies=[RequireCsrf]
)
def remove_all_library(
    token: str, topic: TopicRow, session: DbSession, learner: LearnerDep, now: NowDep
) -> Response:
    remove_library(session, topic.id, now=now)
    learner.refit_if_learning(session, topic, now=now)
    return _back_to_learned(token, topic.id, "library-removed")


def _back_to_learned(token: str, topic_id: int, done: str) -> Response:
    path = topic_path(token, topic_id, "/learned")
    return Response(status_code=303, headers={"Location": f"{path}?done={done}"})
