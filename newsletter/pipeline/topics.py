"""Each due reader's digest from all of their topics: every topic ranked with its own model,
the rankings merged into one mail (newsletter.matching.topics: a paper once, under its best
topic; the limit for the whole mail).

Why ranked this way:
- A topic is a full profile, so the ranker sees one row per (reader, topic): a chunk of
  1,000 readers with two topics each is one `rank_many` over 2,000 rows, the same dense work
  per row as before topics. Its model comes from the chunk's models, read in one query.
- Reasons and highlights (the costly part) are worked out only to the depth each topic's
  digest reaches. A reader who received none of the candidates is ranked once, with
  reasons, `limit` deep per topic; the others first without reasons, deep enough to skip
  what they received, then with reasons to that depth. Each topic keeps up to `limit`
  fresh papers before the merge, so the merge can still fill the mail when topics share
  papers.
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
    per_topic: dict[TopicRow, list[Match]] = {}
    rows = topic_rows(group)
    new = [r for r in rows if not already.get(r.subscriber.id)]
    per_topic.update(rank(new, limit, True))
    returning = [r for r in rows if already.get(r.subscriber.id)]
    if returning:
        deepest = limit + max(len(already[r.subscriber.id]) for r in returning)
        depths: dict[int, list[TopicRow]] = {}
        for row, matches in rank(returning, deepest, False):
            seen = already[row.subscriber.id]
            fresh = [n for n, m in enumerate(matches) if m.paper.id not in seen]
            depths.setdefault(fresh[:limit][-1] + 1 if fresh else 0, []).append(row)
        for depth, members in depths.items():
            for row, matches in rank(members, depth, True) if depth else []:
                seen = already[row.subscriber.id]
                per_topic[row] = [m for m in matches if m.paper.id not in seen][:limit]
            for row in members:
                per_topic.setdefault(row, [])
    return _merged(rows, per_topic, limit)


def _ranking(
    ranker: Ranker, models: Mapping[int, bytes]
) -> Callable[[list[TopicRow], int, bool], Iterator[tuple[TopicRow, list[Match]]]]:
    """`rank(rows, limit, explain)` with each topic's model (none asked for when no topic
    of the chunk has one: the ranking is then exactly the global one)."""

    def model_of(row: TopicRow) -> ModelInput:
        return models.get(row.topic.id) if row.topic is not None else None

    def rank(
        rows: list[TopicRow], limit: int, explain: bool
    ) -> Iterator[tuple[TopicRow, list[Match]]]:
        with_models = any(r.topic is not None and r.topic.id in models for r in rows)
        return ranker.rank_many(
            ((row, row.profile) for row in rows),
            limit=limit,
            explain_matches=explain,
            models=model_of if with_models else None,
        )

    return rank


def _merged(
    rows: list[TopicRow], per_topic: Mapping[TopicRow, list[Match]], limit: int
) -> dict[int, Chosen]:
    grouped: dict[int, list[tuple[TopicTag | None, list[Match]]]] = {}
    for row in rows:  # each reader's topics in the reader's order
        grouped.setdefault(row.subscriber.id, []).append((row.topic, per_topic.get(row, [])))
    return {key: merge_topics(ranked, limit=limit) for key, ranked in grouped.items()}
