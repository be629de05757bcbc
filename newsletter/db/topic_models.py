"""A topic's fitted model and the stamp that says when its examples last changed: a model
fitted before the stamp is owed a refit (see newsletter.db.examples for the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.db.models import TopicModelRow


def dialect_insert(session: Session) -> Any:
    """INSERT with ON CONFLICT, in the session's dialect (PostgreSQL or SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def examples_changed(session: Session, topic_id: int, *, now: datetime) -> None:
    """Stamp the topic's examples as changed (its model is now owed a refit)."""
    statement = dialect_insert(session)(TopicModelRow).values(
        topic_id=topic_id, examples_changed_at=now, examples=0
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["topic_id"], set_={"examples_changed_at": now}
        )
    )


def store_model(
    session: Session,
    topic_id: int,
    *,
    model: bytes | None,
    examples: int,
    fitted_at: datetime,
) -> None:
    """The model fitted at `fitted_at` on that many examples (None: no model could be)."""
    values = {"model": model, "examples": examples, "fitted_at": fitted_at}
    statement = dialect_insert(session)(TopicModelRow).values(
        topic_id=topic_id, examples_changed_at=fitted_at, **values
    )
    session.execute(statement.on_conflict_do_update(index_elements=["topic_id"], set_=values))


def topic_model(session: Session, topic_id: int) -> TopicModelRow | None:
    return session.get(TopicModelRow, topic_id)


def models_for(session: Session, topic_ids: Sequence[int]) -> dict[int, bytes]:
    """The fitted models of the topics that have one (queueing reads a chunk at a time)."""
    rows = session.execute(
        select(TopicModelRow.topic_id, TopicModelRow.model).where(
            TopicModelRow.topic_id.in_(list(topic_ids)), TopicModelRow.model.is_not(None)
        )
    )
    return {topic_id: model for topic_id, model in rows if model is not None}


def owed_refits(session: Session, *, limit: int = 1000) -> list[int]:
    """Topics whose examples changed after their model was fitted (a refit failed, or
    examples came in without an embedder): the only topics a batch refit needs to touch."""
    return list(
        session.scalars(
            select(TopicModelRow.topic_id)
            .where(
                or_(
                    TopicModelRow.fitted_at.is_(None),
                    TopicModelRow.examples_changed_at > TopicModelRow.fitted_at,
                )
            )
            .order_by(TopicModelRow.topic_id)
            .limit(limit)
        )
    )


def model_bytes(session: Session, topic_id: int) -> bytes | None:
    """The topic's fitted model as stored now (read past the session's identity map: a
    refit in this transaction wrote it with a plain UPDATE)."""
    return session.scalar(select(TopicModelRow.model).where(TopicModelRow.topic_id == topic_id))
