"""What a topic learns from: its library (papers the reader imported), its votes (digest
links, the rating page, the web) and the model fitted on them.

The rules, and why:
- **Examples keep their text.** A library entry is stored with its title and abstract
  whether or not the paper is in the papers table, and a vote keeps the text of the paper
  voted on: an example must outlive the paper row (the sample day is removed, old papers may
  be pruned) and a reader's BibTeX is mostly papers this service never fetched. A bare id
  (from a list of ids) takes the stored paper's text when there is one, else it is kept as
  an id only and counts once that paper is stored (`examples_of` looks again every refit).
- **One judgement per paper.** A topic holds one library entry per paper key and one vote per
  paper: voting again replaces the vote (the latest click is what the reader means), and a
  vote outranks a library entry for the same paper. Concurrent clicks are one upsert each.
- **Refit only on change.** Every change stamps `examples_changed_at` on the topic's model
  row; a model fitted before that stamp is owed a refit (`owed_refits`). The web and the
  command line refit at once after a change, so the daily digest never refits anyone.
- **Reset forgets votes, not words.** `reset_votes` removes the votes and the model and takes
  the voted papers out of the written profile's liked/disliked lists (where digest votes
  also land); the description, keywords and the rest stay, and so does the library, which
  the reader removes on its own (`remove_library`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.db.library import (
    MAX_LIBRARY,
    LibraryAdded,
    add_library,
    library_count,
    library_of,
    remove_library,
)
from newsletter.db.models import InterestProfileRow, LibraryEntryRow, TopicModelRow, VoteRow
from newsletter.db.papers import papers_by_id
from newsletter.db.topic_models import (
    dialect_insert,
    examples_changed,
    model_bytes,
    models_for,
    owed_refits,
    store_model,
    topic_model,
)
from newsletter.domain import Paper

__all__ = [  # the library's and the models' functions too: callers import them from here
    "LIBRARY", "MAX_LIBRARY", "Example", "LibraryAdded", "VoteSource", "add_library",
    "examples_changed", "examples_of", "judged_ids", "library_count", "library_of",
    "model_bytes", "models_for", "owed_refits", "record_vote", "remove_library",
    "reset_votes", "store_model", "topic_model", "vote_count", "votes_of",
]  # fmt: skip


class VoteSource(StrEnum):
    DIGEST = "digest"  # "more / less like this" in a digest
    RATING = "rating"  # the rating page ("relevant / not relevant")
    WEB = "web"  # the JSON API


LIBRARY = "library"  # an example's source when it came from the reader's library


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled paper of a topic, with the text the model reads."""

    paper: Paper
    liked: bool
    source: str  # LIBRARY or a VoteSource
    at: datetime


def record_vote(
    session: Session,
    topic_id: int,
    *,
    paper_id: str,
    liked: bool,
    source: VoteSource,
    now: datetime,
    paper: Paper | None = None,
) -> None:
    """The reader's latest judgement of the paper for the topic (replacing an earlier one)."""
    values = {
        "liked": liked,
        "source": source.value,
        "voted_at": now,
        "title": paper.title if paper else "",
        "abstract": paper.abstract if paper else "",
    }
    statement = dialect_insert(session)(VoteRow).values(
        topic_id=topic_id, paper_id=paper_id, **values
    )
    if paper is None:  # keep the text an earlier vote stored
        values = {k: v for k, v in values.items() if k not in ("title", "abstract")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["topic_id", "paper_id"], set_=values)
    )
    examples_changed(session, topic_id, now=now)


def votes_of(session: Session, topic_id: int) -> list[VoteRow]:
    """The topic's votes, latest first."""
    return list(
        session.scalars(
            select(VoteRow)
            .where(VoteRow.topic_id == topic_id)
            .order_by(VoteRow.voted_at.desc(), VoteRow.id.desc())
        )
    )


def reset_votes(session: Session, topic: InterestProfileRow, *, now: datetime) -> int:
    """Forget the topic's votes and model (see the module's rules); how many votes went."""
    voted = set(
        session.scalars(
            delete(VoteRow).where(VoteRow.topic_id == topic.id).returning(VoteRow.paper_id)
        ).all()
    )
    # New lists, not in-place edits: JSON columns only notice assignment.
    topic.seed_papers = [p for p in topic.seed_papers or [] if p not in voted]
    topic.disliked_papers = [p for p in topic.disliked_papers or [] if p not in voted]
    session.execute(delete(TopicModelRow).where(TopicModelRow.topic_id == topic.id))
    if library_count(session, topic.id):
        examples_changed(session, topic.id, now=now)
    return len(voted)


def examples_of(session: Session, topic_id: int, *, limit: int | None = None) -> list[Example]:
    """The topic's usable examples: votes first (latest first), then library entries with a
    text (latest first); a vote decides over a library entry for the same paper. An example
    without a text takes the stored paper's when the paper has arrived, else it is left out.
    At most `limit` (votes are kept before the library)."""
    votes = votes_of(session, topic_id)
    voted = {vote.paper_id for vote in votes}
    library = [row for row in library_of(session, topic_id) if row.key not in voted]
    # Without a text of their own (a vote on a paper not stored, a bare id): the stored
    # paper's, when it has arrived since.
    missing = [v.paper_id for v in votes if not v.title] + [r.key for r in library if not r.title]
    stored = papers_by_id(session, missing) if missing else {}
    found: dict[str, Example] = {}
    for vote in votes:
        paper = (
            Paper(vote.paper_id, vote.title, vote.abstract, ())
            if vote.title
            else stored.get(vote.paper_id)
        )
        if paper is not None:
            found[vote.paper_id] = Example(paper, vote.liked, vote.source, vote.voted_at)
    for row in library:
        paper = _library_paper(row, stored.get(row.key))
        if paper is not None:
            found[row.key] = Example(paper, True, LIBRARY, row.added_at)
    examples = list(found.values())
    return examples if limit is None else examples[:limit]


def _library_paper(row: LibraryEntryRow, stored: Paper | None) -> Paper | None:
    if row.title:
        return Paper(row.key, row.title, row.abstract, (), authors=tuple(row.authors or ()))
    return stored


def vote_count(session: Session, topic_id: int, *, source: VoteSource | None = None) -> int:
    query = select(func.count()).where(VoteRow.topic_id == topic_id)
    if source is not None:
        query = query.where(VoteRow.source == source.value)
    return session.scalar(query) or 0


def judged_ids(session: Session, topic_id: int) -> set[str]:
    """Papers the topic already has a judgement of (a vote, or its library)."""
    voted = session.scalars(select(VoteRow.paper_id).where(VoteRow.topic_id == topic_id))
    known = session.scalars(select(LibraryEntryRow.key).where(LibraryEntryRow.topic_id == topic_id))
    return {*voted, *known}
