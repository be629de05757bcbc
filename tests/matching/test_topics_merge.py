"""Merging a reader's topics into one mail (newsletter.matching.topics): a paper once under
its best topic, the limit for the whole mail, every topic with a paper keeping its best."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newsletter.domain import Match
from newsletter.matching.topics import merge_topics
from tests.support.factories import arxiv_paper


def match(paper_id: str, score: float) -> Match:
    return Match(paper=arxiv_paper(paper_id), score=score, why=(), highlights=())


def ids(merged: list[tuple[str, Match]]) -> list[tuple[str, str]]:
    return [(topic, m.paper.id) for topic, m in merged]


def test_one_topic_is_its_ranking_unchanged() -> None:
    ranking = [match("a", 0.9), match("b", 0.9), match("c", 0.4)]
    assert ids(merge_topics([("t", ranking)], limit=2)) == [("t", "a"), ("t", "b")]


def test_a_paper_goes_to_the_topic_where_it_scores_best_and_ties_to_the_first() -> None:
    merged = merge_topics(
        [
            ("graphs", [match("shared", 0.6), match("g", 0.5), match("tie", 0.4)]),
            ("proteins", [match("shared", 0.8), match("p", 0.7), match("tie", 0.4)]),
        ],
        limit=10,
    )
    assert ids(merged) == [
        ("graphs", "g"), ("graphs", "tie"), ("proteins", "shared"), ("proteins", "p"),
    ]  # fmt: skip


def test_the_limit_is_the_mails_and_each_topic_keeps_its_best() -> None:
    strong = [match(f"s{n}", 0.9 - n / 100) for n in range(5)]
    weak = [match("w0", 0.3), match("w1", 0.2)]
    merged = merge_topics([("weak", weak), ("strong", strong)], limit=3)
    # Sections in the reader's order; the weak topic keeps its best, the rest by score.
    assert ids(merged) == [("weak", "w0"), ("strong", "s0"), ("strong", "s1")]


def test_more_topics_than_room_shows_the_topics_whose_best_scores_highest() -> None:
    merged = merge_topics(
        [("a", [match("a", 0.2)]), ("b", [match("b", 0.9)]), ("c", [match("c", 0.5)])], limit=2
    )
    assert ids(merged) == [("b", "b"), ("c", "c")]


def test_topics_without_papers_and_no_room_give_nothing() -> None:
    assert merge_topics([("a", []), ("b", [])], limit=5) == []
    assert merge_topics([("a", [match("x", 0.5)]), ("b", [])], limit=0) == []


SCORES = st.lists(
    st.lists(st.tuples(st.sampled_from("abcdefghij"), st.floats(0, 1)), max_size=8),
    min_size=1,
    max_size=4,
)


@given(SCORES, st.integers(1, 12))
def test_any_rankings_merge_by_the_rules(
    rankings: list[list[tuple[str, float]]], limit: int
) -> None:
    topics = []
    for number, ranking in enumerate(rankings):
        unique = dict(ranking)  # one entry per paper and topic
        ordered = sorted(unique.items(), key=lambda item: -item[1])
        topics.append((number, [match(paper, score) for paper, score in ordered]))
    merged = merge_topics(topics, limit=limit)
    papers = [m.paper.id for _, m in merged]
    assert len(papers) == len(set(papers))  # a paper once
    distinct = {m.paper.id for _, ranking in topics for m in ranking}
    assert len(merged) == min(limit, len(distinct))  # the mail is filled as far as it can be
    assert [t for t, _ in merged] == sorted(t for t, _ in merged)  # sections in order
    if len(topics) > 1:
        for topic, m in merged:  # under a topic where it scores best
            best = max(x.score for _, r in topics for x in r if x.paper.id == m.paper.id)
            assert m.score == best
            assert topic == min(t for t, r in topics for x in r
                                if x.paper.id == m.paper.id and x.score == best)  # fmt: skip
