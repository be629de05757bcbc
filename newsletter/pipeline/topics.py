"""Each due reader's digest from all of their topics: every topic ranked with its own model,
the rankings merged into one mail (newsletter.matching.topics: a paper once, under its best
topic; the limit for the whole mail).

Why ranked this way:
- A topic is a full profile, so the ranker sees one row per (reader, topic): a chunk of
  1,000 readers with two topics each is one `rank_many` over 2,000 rows, the same dense work
  per row as before topics. Its model comes from the chunk's models, read in one query.
- Reasons and highlights (the costly part) are worked out only for the papers that make
  the mail. A reader of one topic who received none of the candidates is ranked once, with
  reasons, `limit` deep. The others (several topics, or papers received before) are ranked
  first without reasons, deep enough to skip what they received; each topic keeps up to
  `limit` fresh papers (so the merge can still fill the mail when topics share papers), the
  merge picks the mail, and each topic is ranked again with reasons only as deep as its
  chosen papers reach: a reader of two topics costs two cheap rankings more, not twice the
  reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from newsletter.db.due import DueSubscriber
from newsletter.domain import InterestProfile, Match, TopicTag
from newsletter.matching.learning.apply import ModelInput
from newsletter.matching.ranker import Ranker
from newsletter.matching.topics import merge_topics

Chosen = list[tuple[TopicTag | None, Match]]


@dataclass(frozen=True, slots=True, eq=False)  # a row is itself: hashed by identity
class TopicRow:
    """One topic of one due reader: a row of the ranker (`topic` None: a reader without
    topics, matched as an empty profile, as before topics)."""

    subscriber: DueSubscriber
    topic: TopicTag | None
    profile: InterestProfile


def topic_rows(subscribers: Iterable[DueSubscriber]) -> list[TopicRow]:
    rows: list[TopicRow] = []
    for subscriber in subscribers:
        if not subscriber.topics:
            rows.append(TopicRow(subscriber, None, InterestProfile()))
        rows += [TopicRow(subscriber, t.tag, t.profile) for t in subscriber.topics]
    return rows


def fresh_matches(
    ranker: Ranker,
    group: list[DueSubscriber],
    already: Mapping[int, set[str]],
    *,
    limit: int,
    models: Mapping[int, bytes],
) -> dict[int, Chosen]:
    """Each subscriber's (topic, match) pairs: their best `limit` papers, over all topics,
    that they have not received yet."""
    rank = _ranking(ranker, models)
    rows = topic_rows(group)
    # Readers of one topic who received none of the candidates: one ranking, with reasons.
    once = [r for r in rows if len(r.subscriber.topics) < 2 and not already.get(r.subscriber.id)]
    per_topic: dict[TopicRow, list[Match]] = dict(rank(once, limit, True))
    skip = {id(r) for r in once}
    others = [r for r in rows if id(r) not in skip]
    if others:
        per_topic.update(_explained_to_depth(rank, others, already, limit))
    return _merged(rows, per_topic, limit)


Rank = Callable[[list["TopicRow"], int, bool], Iterator[tuple["TopicRow", list[Match]]]]


def _explained_to_depth(
    rank: Rank, rows: list[TopicRow], already: Mapping[int, set[str]], limit: int
) -> dict[TopicRow, list[Match]]:
    """The papers that make each mail, decided on rankings without reasons (deep enough to
    skip what each reader received, merged over the reader's topics), then ranked again
    with reasons only as deep as each topic's chosen papers reach."""
    deepest = limit + max(len(already.get(r.subscriber.id, ())) for r in rows)
    ranked: dict[TopicRow, list[Match]] = {}
    fresh: dict[TopicRow, list[Match]] = {}
    for row, matches in rank(rows, deepest, False):
        seen = already.get(row.subscriber.id, set())
        ranked[row] = matches
        fresh[row] = [m for m in matches if m.paper.id not in seen][:limit]
    merged = _merged(rows, fresh, limit)
    chosen = {
        id(row): {m.paper.id for topic, m in merged[row.subscriber.id] if topic is row.topic}
        for row in rows
    }
    depths: dict[int, list[TopicRow]] = {}
    for row in rows:
        picked = [n for n, m in enumerate(ranked.get(row, [])) if m.paper.id in chosen[id(row)]]
        depths.setdefault(picked[-1] + 1 if picked else 0, []).append(row)
    explained: dict[TopicRow, list[Match]] = {row: [] for row in rows}
    for depth, members in depths.items():
        for row, matches in rank(members, depth, True) if depth else []:
            explained[row] = [m for m in matches if m.paper.id in chosen[id(row)]]
    return explained


def _ranking(ranker: Ranker, models: Mapping[int, bytes]) -> Rank:
    """`rank(rows, limit, explain)` with each topic's model (`models`: the chunk's). None
    are asked for when no topic of the chunk has one: the ranking is then exactly the
    global one. Every pass over the chunk ranks alike, so a paper chosen without reasons
    is there again with them."""

    def model_of(row: TopicRow) -> ModelInput:
        return models.get(row.topic.id) if row.topic is not None else None

    def rank(
        rows: list[TopicRow], limit: int, explain: bool
    ) -> Iterator[tuple[TopicRow, list[Match]]]:
        return ranker.rank_many(
            ((row, row.profile) for row in rows),
            limit=limit,
            explain_matches=explain,
            models=model_of if models else None,
        )

    return rank


def _merged(
    rows: list[TopicRow], per_topic: Mapping[TopicRow, list[Match]], limit: int
) -> dict[int, Chosen]:
    grouped: dict[int, list[tuple[TopicTag | None, list[Match]]]] = {}
    for row in rows:  # each reader's topics in the reader's order
        grouped.setdefault(row.subscriber.id, []).append((row.topic, per_topic.get(row, [])))
    return {key: merge_topics(ranked, limit=limit) for key, ranked in grouped.items()}
