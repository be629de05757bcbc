"""One digest from a reader's several topics: each topic ranked on its own, merged here.

The rules, and why:
- **A paper appears once**, under the topic where it scores best (ties: the topic first in
  the reader's order). Two sections showing the same paper would waste the mail's room and
  split the reader's votes on it.
- **The limit is the whole mail's**, not each topic's: a reader with five topics gets no
  five times longer mail. Each topic that kept a paper after the dedupe keeps at least its
  best one (a topic must not vanish because another scores higher on the whole); the rest
  of the room goes to the best scores across all topics. With more such topics than room,
  the topics whose best paper scores highest are the ones shown.
- **Sections follow the reader's order of topics**, papers within one by score: the
  reader chose which topic comes first.
- A reader with one topic gets that topic's ranking unchanged (the same papers in the same
  order), so single-topic digests are what they were before topics.

Pure: no database, no ranker; `Key` is whatever names a topic for the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from newsletter.domain import Match

Key = TypeVar("Key")


def merge_topics(ranked: Sequence[tuple[Key, Sequence[Match]]], *, limit: int) -> list[
    tuple[Key, Match]
]:  # fmt: skip
    """The mail's (topic, match) pairs from each topic's ranking (`ranked`: in the reader's
    order of topics, each ranking best first), at most `limit`, grouped by topic."""
    if limit <= 0:
        return []
    if len(ranked) == 1:
        key, matches = ranked[0]
        return [(key, match) for match in matches[:limit]]
    owner = _best_topic_per_paper(ranked)
    kept: list[list[Match]] = [
        [m for m in matches if owner[m.paper.id] == index]
        for index, (_, matches) in enumerate(ranked)
    ]
    chosen = _choose(kept, limit)
    return [
        (ranked[index][0], match)
        for index, matches in enumerate(kept)
        for position, match in enumerate(matches)
        if (index, position) in chosen
    ]


def _best_topic_per_paper(ranked: Sequence[tuple[Key, Sequence[Match]]]) -> dict[str, int]:
    """Paper id -> index of the topic it scores best under (the earlier topic on a tie)."""
    best: dict[str, tuple[float, int]] = {}
    for index, (_, matches) in enumerate(ranked):
        for match in matches:
            found = best.get(match.paper.id)
            if found is None or match.score > found[0]:
                best[match.paper.id] = (match.score, index)
    return {paper_id: index for paper_id, (_, index) in best.items()}


def _choose(kept: list[list[Match]], limit: int) -> set[tuple[int, int]]:
    """(topic index, position) of the papers that make the mail: every topic's best first
    (the best of those when they alone overflow the limit), then the best scores."""
    firsts = sorted(
        (index for index, matches in enumerate(kept) if matches),
        key=lambda index: (-kept[index][0].score, index),
    )[:limit]
    chosen = {(index, 0) for index in firsts}
    rest = sorted(
        (
            (-match.score, index, position)
            for index, matches in enumerate(kept)
            for position, match in enumerate(matches)
            if (index, position) not in chosen
        ),
    )
    chosen.update((index, position) for _, index, position in rest[: limit - len(chosen)])
    return chosen
