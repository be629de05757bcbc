"""The JSON API for topics: list, add, change, reorder and delete them; import a library,
vote, see what a topic learned and reset it. The same rules as the pages (`web.topics`,
`web.rating`, `web.learned`); as in `api`, a body is checked before the link's token is
read, and a change to a topic's examples refits its model before the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.examples import VoteSource, judged_ids, model_bytes, remove_library, reset_votes
from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.subscriber_rows import to_profile, write_profile
from newsletter.db.topics import (
    TopicError,
    add_topic,
    delete_topic,
    rename_topic,
    reorder_topics,
    topic_of,
)
from newsletter.library import LibraryError
from newsletter.mail.tokens import Purpose
from newsletter.subscribers.library_import import import_library
from newsletter.web.deps import (
    DbSession,
    LearnerDep,
    LimitsDep,
    NowDep,
    OpenLink,
    PreferencesRow,
    SessionsDep,
    TopicId,
)
from newsletter.web.errors import InvalidInput, PageError
from newsletter.web.learned import learned
from newsletter.web.rating import rate
from newsletter.web.routes.api import INVALID
from newsletter.web.strict_json import StrictJsonRoute
from newsletter.web.topic_schemas import LibraryIn, OrderIn, TopicIn, TopicOut, VoteIn, topic_out
from newsletter.web.topics import summaries

router = APIRouter(prefix="/api", tags=["topics"], route_class=StrictJsonRoute)
TOPICS = "/preferences/{token}/topics"
TOPIC = TOPICS + "/{topic_id}"


def _listed(session: Session, row: SubscriberRow) -> list[TopicOut]:
    rows = {t.id: t for t in row.topics}
    return [topic_out(s, to_profile(rows.get(s.id))) for s in summaries(session, row.id)]


def _one(session: Session, row: SubscriberRow, topic: InterestProfileRow) -> TopicOut:
    session.flush()
    summary = next(s for s in summaries(session, row.id) if s.id == topic.id)
    return topic_out(summary, to_profile(topic))


def _open(opener: OpenLink, token: str, topic_id: int) -> tuple[SubscriberRow, InterestProfileRow]:
    row = opener.subscriber(Purpose.PREFERENCES, token)
    topic = topic_of(opener.session, row.id, topic_id)
    if topic is None:
        raise PageError(404, "No such topic", "no such topic for this subscription")
    return row, topic


@router.get(TOPICS)
def list_topics(row: PreferencesRow, session: DbSession) -> list[TopicOut]:
    """The reader's topics in their order (the first is the preferences' profile)."""
    return _listed(session, row)


@router.post(TOPICS, status_code=201, responses=INVALID)
def create_topic(token: str, body: TopicIn, opener: OpenLink, session: DbSession) -> TopicOut:
    """Add a topic after the others (at most 10; names unique regardless of case)."""
    profile = body.profile()
    row = opener.subscriber(Purpose.PREFERENCES, token)
    try:
        topic = add_topic(session, row, name=body.name, profile=profile)
    except TopicError as exc:
        raise InvalidInput({"name": str(exc)}) from None
    return _one(session, row, topic)


@router.put(TOPICS, responses=INVALID)
def reorder(token: str, body: OrderIn, opener: OpenLink, session: DbSession) -> list[TopicOut]:
    """Put the topics in the order given (every topic's id, once)."""
    row = opener.subscriber(Purpose.PREFERENCES, token)
    try:
        reorder_topics(session, row.id, body.order)
    except TopicError as exc:
        raise InvalidInput({"order": str(exc)}) from None
    session.refresh(row)
    return _listed(session, row)


@router.get(TOPIC)
def get_topic(token: str, topic_id: TopicId, opener: OpenLink, session: DbSession) -> TopicOut:
    row, topic = _open(opener, token, topic_id)
    return _one(session, row, topic)


@router.put(TOPIC, responses=INVALID)
def put_topic(
    token: str, topic_id: TopicId, body: TopicIn, opener: OpenLink, session: DbSession,
    learner: LearnerDep, now: NowDep,
) -> TopicOut:  # fmt: skip
    """Rename the topic and replace its profile (its library and votes stay)."""
    profile = body.profile()
    row, topic = _open(opener, token, topic_id)
    try:
        rename_topic(session, topic, body.name)
    except TopicError as exc:
        raise InvalidInput({"name": str(exc)}) from None
    write_profile(topic, profile)
    learner.refit_if_learning(session, topic, now=now)
    return _one(session, row, topic)


@router.delete(TOPIC, status_code=204)
def remove_topic(token: str, topic_id: TopicId, opener: OpenLink, session: DbSession) -> Response:
    """Delete the topic with its library, votes and model (not the only one)."""
    _, topic = _open(opener, token, topic_id)
    try:
        delete_topic(session, topic)
    except TopicError as exc:
        raise PageError(409, "Not deleted", str(exc)) from None
    return Response(status_code=204)


@router.post(TOPIC + "/library", responses=INVALID)
def post_library(
    token: str, topic_id: TopicId, body: LibraryIn, opener: OpenLink, session: DbSession,
    limits: LimitsDep, learner: LearnerDep, now: NowDep,
) -> dict[str, Any]:  # fmt: skip
    """Import a library file's text into the topic: every unreadable entry is reported with
    its line and the rest imported; then the topic's model is refitted."""
    _, topic = _open(opener, token, topic_id)
    try:
        report = import_library(
            session, topic.id, body.content.encode(),
            filename=body.filename, now=now, max_bytes=limits.max_upload_bytes,
        )  # fmt: skip
    except LibraryError as exc:
        raise InvalidInput({"content": str(exc)}) from None
    refit = learner.refit(session, topic, now=now)
    return {**report.as_json(), "learned": refit.fitted, "not_learned_because": refit.reason}


@router.delete(TOPIC + "/library")
def delete_library(
    token: str, topic_id: TopicId, opener: OpenLink, session: DbSession, learner: LearnerDep,
    now: NowDep,
) -> dict[str, int]:  # fmt: skip
    _, topic = _open(opener, token, topic_id)
    removed = remove_library(session, topic.id, now=now)
    learner.refit_if_learning(session, topic, now=now)
    return {"removed": removed}


@router.post(TOPIC + "/votes", responses=INVALID)
def vote(
    token: str, topic_id: TopicId, body: VoteIn, opener: OpenLink, session: DbSession,
    learner: LearnerDep, now: NowDep,
) -> dict[str, Any]:  # fmt: skip
    """Rate a stored paper for the topic (relevant / not-relevant, or more / less); the
    model is refitted and the answer says what the latest day's digest would now hold."""
    _, topic = _open(opener, token, topic_id)
    rated = rate(
        session, topic, paper_id=body.paper, relevant=body.liked, learner=learner, now=now,
        source=VoteSource.WEB,
    )  # fmt: skip
    after, before = rated.after, rated.before
    return {
        "paper": rated.paper.id,
        "liked": rated.relevant,
        "learned": rated.refit.fitted,
        "not_learned_because": rated.refit.reason,
        "day": after.day.isoformat() if after else None,
        "included_before": len(before.included) if before else None,
        "included_now": len(after.included) if after else None,
        "top": [{"id": p.id, "title": p.title} for p in after.top] if after else [],
    }


@router.get(TOPIC + "/to-rate")
def to_rate(
    token: str, topic_id: TopicId, opener: OpenLink, session: DbSession,
    learner: LearnerDep,
) -> list[dict[str, Any]]:  # fmt: skip
    """About 10 recent papers worth rating next: near the threshold, unlike one another."""
    _, topic = _open(opener, token, topic_id)
    day = learner.latest(session)
    if day is None:
        return []
    papers = day.to_rate(
        to_profile(topic), model_bytes(session, topic.id), judged=judged_ids(session, topic.id)
    )
    return [{"id": p.id, "title": p.title, "abstract": p.abstract} for p in papers]


@router.get(TOPIC + "/learned")
def get_learned(
    token: str, topic_id: TopicId, opener: OpenLink, session: DbSession, sessions: SessionsDep,
    learner: LearnerDep,
) -> dict[str, Any]:  # fmt: skip
    """The topic's examples, its model, and why each paper of the latest digest was pushed
    up (the reader's liked papers that raised it most)."""
    row, topic = _open(opener, token, topic_id)
    found = learned(
        session, row, topic, embedder=learner.embedder, cache=DbEmbeddingCache(sessions)
    )
    return found.as_json()


@router.post(TOPIC + "/reset")
def post_reset(
    token: str, topic_id: TopicId, opener: OpenLink, session: DbSession, learner: LearnerDep,
    now: NowDep,
) -> dict[str, int]:  # fmt: skip
    """Forget the topic's votes, ratings and model; its written profile and library stay."""
    _, topic = _open(opener, token, topic_id)
    removed = reset_votes(session, topic, now=now)
    learner.refit_if_learning(session, topic, now=now)
    return {"votes_removed": removed}
