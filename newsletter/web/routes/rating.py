"""The rating pages (see `web.rating`): after confirming, under the confirmation link (the
first topic, no way to the preferences), and for any topic under the preferences link."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.topics import topics_of
from newsletter.domain import Status
from newsletter.web.deps import (
    ConfirmRow,
    CsrfForm,
    DbSession,
    LearnerDep,
    NowDep,
    PagesDep,
    SettingsDep,
    TopicRow,
)
from newsletter.web.errors import PageError
from newsletter.web.rating import rate, rating_of, rating_page
from newsletter.web.topics import topic_path

router = APIRouter(include_in_schema=False)


def _confirmed_topic(session: Session, row: SubscriberRow) -> InterestProfileRow:
    """The first topic of a confirmed subscription; PageError before confirming or after
    the subscription ended."""
    if row.status == Status.PENDING:
        raise PageError(
            409,
            "Confirm your subscription first",
            "Open the link in the confirmation mail and confirm: then you can rate papers.",
        )
    if row.status not in (Status.ACTIVE, Status.PAUSED):
        raise PageError(
            410,
            "This subscription has ended",
            "Subscribe again from the home page to rate papers.",
            [("Subscribe again from the home page", "/")],
        )
    topics = topics_of(session, row.id)
    if not topics:
        raise PageError(404, "No interests stored", "Subscribe again from the home page.")
    return topics[0]


@router.get("/confirm/{token}/rate", response_class=HTMLResponse)
def confirm_rate_page(
    row: ConfirmRow, session: DbSession, pages: PagesDep, learner: LearnerDep,
    settings: SettingsDep,
) -> HTMLResponse:  # fmt: skip
    topic = _confirmed_topic(session, row)
    return rating_page(
        pages, session, topic, learner=learner,
        action=pages.request.url.path, back=None, max_papers=settings.digest_max_papers,
    )  # fmt: skip


@router.post("/confirm/{token}/rate", response_class=HTMLResponse)
def confirm_rate(
    form: CsrfForm, row: ConfirmRow, session: DbSession, pages: PagesDep, learner: LearnerDep,
    settings: SettingsDep, now: NowDep,
) -> HTMLResponse:  # fmt: skip
    paper_id, relevant = rating_of(form)
    topic = _confirmed_topic(session, row)
    rated = rate(
        session, topic, paper_id=paper_id, relevant=relevant, learner=learner,
        now=now,
    )  # fmt: skip
    return rating_page(
        pages, session, topic, learner=learner, action=pages.request.url.path,
        back=None, max_papers=settings.digest_max_papers, rated=rated,
    )  # fmt: skip


@router.get("/preferences/{token}/topics/{topic_id}/rate", response_class=HTMLResponse)
def topic_rate_page(
    token: str, topic: TopicRow, session: DbSession, pages: PagesDep, learner: LearnerDep,
    settings: SettingsDep,
) -> HTMLResponse:  # fmt: skip
    return rating_page(
        pages, session, topic, learner=learner,
        action=pages.request.url.path, back=_back(token, topic),
        max_papers=settings.digest_max_papers,
    )  # fmt: skip


@router.post("/preferences/{token}/topics/{topic_id}/rate", response_class=HTMLResponse)
def topic_rate(
    token: str, form: CsrfForm, topic: TopicRow, session: DbSession, pages: PagesDep,
    learner: LearnerDep, settings: SettingsDep, now: NowDep,
) -> HTMLResponse:  # fmt: skip
    paper_id, relevant = rating_of(form)
    rated = rate(
        session, topic, paper_id=paper_id, relevant=relevant, learner=learner,
        now=now,
    )  # fmt: skip
    return rating_page(
        pages, session, topic, learner=learner, action=pages.request.url.path,
        back=_back(token, topic), max_papers=settings.digest_max_papers, rated=rated,
    )  # fmt: skip


def _back(token: str, topic: InterestProfileRow) -> tuple[str, str]:
    return (f"The topic “{topic.name}”", topic_path(token, topic.id))
