"""`newsletter subscribers topics` and `subscribers library`: a reader's topics, and importing
their library into one of them (`--topic` on `subscribers add` is in cli/subscribe.py).

`library` reads the whole file first (nothing is stored from a file that cannot be read),
reports what it imported, the duplicates, every unreadable entry with its line and the bare
ids kept without a text, then refits the topic's model at once (semantic matching on: the
model is loaded for it; off: the examples are kept and the model is owed). Exit codes: 0
every entry imported (or already there), 1 some entries could not be read (the rest were
imported), 2 nothing imported: no such subscriber or topic, or a file that cannot be read.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from newsletter.cli.common import (
    OutputFormat,
    address_or_fail,
    fail,
    load_settings,
    migrated,
    out,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsletter.db.models import InterestProfileRow, SubscriberRow

TopicOption = Annotated[
    str | None, typer.Option("--topic", help="The topic's name (default: the first topic)")
]


def register(subscribers_app: typer.Typer) -> None:
    subscribers_app.command("topics")(topics)
    subscribers_app.command("library")(library)


def _print(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def subscriber_or_fail(session: Session, email: str) -> SubscriberRow:
    from newsletter.db import subscriber_rows

    address = address_or_fail(email)
    row = subscriber_rows.find(session, address)
    if row is None:
        fail(f"no subscriber {address}", code=2)
    return row


def topic_or_fail(session: Session, row: SubscriberRow, name: str | None) -> InterestProfileRow:
    from newsletter.db.topics import find_topic, first_topic, topics_of

    if name is None:
        return first_topic(session, row)
    topic = find_topic(session, row.id, name)
    if topic is None:
        names = ", ".join(repr(t.name) for t in topics_of(session, row.id))
        fail(
            f"{row.email} has no topic {name!r} (topics: {names}); add it with "
            f"`newsletter subscribers add {row.email} --topic NAME --interests TEXT`",
            code=2,
        )
    return topic


def topics(
    email: str, fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE
) -> None:
    """A subscriber's topics, in order: interests, library, votes and when each learned."""
    from newsletter.db.subscriber_rows import to_profile
    from newsletter.db.topics import topics_of
    from newsletter.web.topics import profile_json, summaries

    _, sessions = migrated(load_settings())
    with sessions() as session:
        row = subscriber_or_fail(session, email)
        rows = {t.id: t for t in topics_of(session, row.id)}
        listed: list[dict[str, Any]] = [
            {
                "name": s.name,
                "position": s.position,
                "library": s.library,
                "votes": s.votes,
                "learned_at": s.fitted_at.isoformat() if s.fitted_at else None,
                "profile": profile_json(to_profile(rows[s.id])),
            }
            for s in summaries(session, row.id)
        ]
    if fmt is OutputFormat.JSON:
        sys.stdout.write(json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
        return
    for item in listed:
        profile = item["profile"]
        what = profile["description"] or ", ".join(profile["keywords"]) or "(no written interests)"
        learned = f"learned {item['learned_at'][:16]}" if item["learned_at"] else "nothing learned"
        _print(
            f"{item['position'] + 1}. {item['name']}: {what[:80]} · {item['library']} in its "
            f"library · {item['votes']} votes · {learned}"
        )


def library(
    email: str,
    file: Annotated[Path, typer.Argument(help="BibTeX, RIS, Zotero CSV/RDF, CSL JSON or ids")],
    topic: TopicOption = None,
) -> None:
    """Import a reader's library (BibTeX, RIS, Zotero CSV or RDF, CSL JSON, Zotero JSON, or
    a list of arXiv ids and DOIs) into one of their topics as liked examples, and refit
    that topic's model. Exit 1 when some entries could not be read (the rest are imported),
    2 when nothing could be."""
    from newsletter.db.examples import topic_model
    from newsletter.library import LibraryError
    from newsletter.matching.embedding import load_embedder
    from newsletter.subscribers.learning import Learner
    from newsletter.subscribers.library_import import import_library

    settings = load_settings()
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=2)
    now = datetime.now(UTC)
    _, sessions = migrated(settings)
    with sessions.begin() as session:
        row = subscriber_or_fail(session, email)
        chosen = topic_or_fail(session, row, topic)
        try:
            report = import_library(session, chosen.id, data, filename=file.name, now=now)
        except LibraryError as exc:
            fail(f"{file}: {exc}; nothing was imported", code=2)
        for line in [report.summary(), *map(str, report.problems), *report.notes()]:
            _print(line)
        refit = None
        if topic_model(session, chosen.id) is not None:
            refit = Learner(load_embedder(settings.embedding_model)).refit(session, chosen, now=now)
        name = chosen.name
    if refit is not None and refit.fitted:
        _print(f"topic {name!r} learns from {refit.examples} examples now")
    elif refit is not None and refit.reason:
        _print(f"topic {name!r}: nothing learned yet: {refit.reason}")
    if report.problems:
        raise typer.Exit(1)
