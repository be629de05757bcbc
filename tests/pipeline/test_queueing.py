"""Queueing the day's digests: who gets one, with which papers, and what is never re-sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox, outbox_claims
from newsletter.db.models import OutboxRow, SubscriberRow
from newsletter.db.papers import store_papers
from newsletter.db.subscribers import add_or_update, unsubscribe
from newsletter.domain import AnnounceType, Match, Paper, Status
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker
from newsletter.pipeline import queueing
from newsletter.pipeline.queueing import DigestOptions, DigestReport, NoPapersError, queue_digests
from tests.support.factories import arxiv_paper

DAY = date(2025, 8, 20)  # a Wednesday
NOW = datetime(2025, 8, 20, 6, 0, tzinfo=UTC)
GNN = "graph neural networks"
PROTEIN = "protein folding"
# Other fields' papers, as on any real day: a term every paper shares would carry no weight.
OTHER_TOPICS = (
    "dark matter halos",
    "speech recognition",
    "robot grasping",
    "sparse matrix factorization",
    "climate model downscaling",
    "quantum error correction",
    "market microstructure",
    "coral reef ecology",
)
FILLER = 16
NO_MATCH = "volcanic seismology"


class MessageIds:
    """Stands in for MailIdentity.new_message_id, remembering what it handed out."""

    def __init__(self) -> None:
        self.given: list[str] = []
        self._next = count(1)

    def __call__(self) -> str:
        self.given.append(f"<{next(self._next)}.digest@example.org>")
        return self.given[-1]


def options(
    ids: MessageIds | None = None,
    *,
    max_papers: int = 3,
    quiet_day: bool = False,
    dry_run: bool = False,
) -> DigestOptions:
    return DigestOptions(
        max_papers=max_papers,
        quiet_day=quiet_day,
        new_message_id=ids or MessageIds(),
        dry_run=dry_run,
    )


def topic_paper(paper_id: str, topic: str, day: date = DAY, **changes: Any) -> Paper:
    return arxiv_paper(
        paper_id,
        title=f"Advances in {topic} ({paper_id})",
        abstract=f"We study {topic} at scale and report results on {topic} benchmarks.",
        announced_on=day,
        **changes,
    )


def gnn_papers(n: int, day: date = DAY, prefix: str = "2508.1") -> list[Paper]:
    return [topic_paper(f"{prefix}{i:04d}", GNN, day) for i in range(n)]


def store(sessions: sessionmaker[Session], papers: list[Paper], *, filler: bool = True) -> None:
    """The papers, and unless told otherwise FILLER papers on other topics on DAY."""
    others = [
        topic_paper(f"2508.9{i:04d}", OTHER_TOPICS[i % len(OTHER_TOPICS)])
        for i in range(FILLER if filler else 0)
    ]
    with sessions.begin() as session:
        store_papers(session, [*papers, *others], now=NOW)


def subscribe(
    sessions: sessionmaker[Session],
    email: str,
    keyword: str = GNN,
    *,
    status: Status = Status.ACTIVE,
    weekly_on: int | None = None,
) -> int:
    with sessions.begin() as session:
        row, _ = add_or_update(
            session,
            email=email,
            profile=build_profile(keywords=[keyword]),
            confirmed=status is not Status.PENDING,
            now=NOW,
        )
        if status is Status.UNSUBSCRIBED:
            unsubscribe(session, subscriber=row, now=NOW)
        elif status is not Status.PENDING:
            row.status = status.value
        if weekly_on is not None:
            row.frequency = "weekly"
            row.send_weekday = weekly_on
        return row.id


def run(
    sessions: sessionmaker[Session], opts: DigestOptions | None = None, *, day: date = DAY
) -> DigestReport:
    return queue_digests(
        sessions=sessions, day=day, options=opts or options(), embedder=None, now=NOW
    )


def outbox_rows(sessions: sessionmaker[Session]) -> dict[int, OutboxRow]:
    with sessions() as session:
        return {row.subscriber_id: row for row in session.scalars(select(OutboxRow))}


def paper_ids(row: OutboxRow) -> list[str]:
    return [item["id"] for item in row.content]


def mark_sent(sessions: sessionmaker[Session], subscriber_id: int, papers: list[Paper]) -> None:
    """The subscriber got these papers in an earlier digest that went out."""
    earlier = outbox.NewDigest(
        subscriber_id=subscriber_id,
        digest_date=DAY - timedelta(days=30),
        message_id=f"<earlier.{subscriber_id}@example.org>",
        matches=[Match(paper=p, score=0.9, why=(), highlights=()) for p in papers],
    )
    with sessions.begin() as session:
        outbox.enqueue(session, [earlier], now=NOW - timedelta(days=30))
    (claimed,) = outbox_claims.claim(
        sessions, now=NOW - timedelta(days=30), limit=1, lease=timedelta(minutes=10)
    )
    outbox_claims.record_sent(sessions, claimed, reply="250 ok", now=NOW - timedelta(days=30))


# --- who gets a digest ----------------------------------------------------------------------


def test_one_digest_per_active_subscriber_with_matches(
    any_sessions: sessionmaker[Session],
) -> None:
    store(any_sessions, [*gnn_papers(2), topic_paper("2508.20000", PROTEIN)])
    gnn = subscribe(any_sessions, "gnn@example.com")
    protein = subscribe(any_sessions, "protein@example.com", PROTEIN)
    for status in (Status.PENDING, Status.PAUSED, Status.UNSUBSCRIBED, Status.BOUNCED):
        subscribe(any_sessions, f"{status.value}@example.com", status=status)
    ids = MessageIds()
    report = run(any_sessions, options(ids))
    rows = outbox_rows(any_sessions)
    assert set(rows) == {gnn, protein}
    assert paper_ids(rows[gnn]) == ["2508.10000", "2508.10001"]
    assert paper_ids(rows[protein]) == ["2508.20000"]
    assert {row.state for row in rows.values()} == {"queued"}
    assert {row.digest_date for row in rows.values()} == {DAY}
    assert (report.candidates, report.considered, report.queued) == (3 + FILLER, 2, 2)
    assert report.nothing_matched == 0
    # Message-IDs are the ones the options hand out, one per digest.
    assert sorted(row.message_id for row in rows.values()) == sorted(ids.given)
    assert len(ids.given) == 2


def test_queued_content_keeps_scores_and_reasons(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(1))
    who = subscribe(sessions, "gnn@example.com")
    run(sessions)
    (item,) = outbox_rows(sessions)[who].content
    assert item["id"] == "2508.10000"
    assert item["score"] >= 0.4
    assert any(GNN in why for why in item["why"])
    assert item["highlights"]


def test_running_twice_queues_nothing_new(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(2))
    subscribe(sessions, "gnn@example.com")
    subscribe(sessions, "nothing@example.com", NO_MATCH)
    ids = MessageIds()
    run(sessions, options(ids))
    before = {who: (row.message_id, row.state) for who, row in outbox_rows(sessions).items()}
    assert len(ids.given) == 2
    report = run(sessions, options(ids))
    assert report.considered == 0
    assert len(ids.given) == 2
    assert {who: (r.message_id, r.state) for who, r in outbox_rows(sessions).items()} == before
    # A subscriber who joins later that day still gets the day's digest.
    late = subscribe(sessions, "late@example.com")
    assert run(sessions, options(ids)).considered == 1
    assert paper_ids(outbox_rows(sessions)[late]) == ["2508.10000", "2508.10001"]


def test_max_papers_caps_the_digest(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(6))
    who = subscribe(sessions, "gnn@example.com")
    run(sessions, options(max_papers=4))
    assert paper_ids(outbox_rows(sessions)[who]) == [f"2508.1000{i}" for i in range(4)]


# --- never the same paper twice ----------------------------------------------------------------


def test_sent_papers_are_never_included_again_and_the_digest_is_filled_up(
    any_sessions: sessionmaker[Session],
) -> None:
    papers = gnn_papers(6)
    store(any_sessions, papers)
    who = subscribe(any_sessions, "gnn@example.com")
    other = subscribe(any_sessions, "other@example.com")
    mark_sent(any_sessions, who, papers[:2])
    run(any_sessions, options(max_papers=3))
    rows = outbox_rows(any_sessions)
    assert paper_ids(rows[who]) == ["2508.10002", "2508.10003", "2508.10004"]
    # Someone else's history changes nothing for the other subscriber.
    assert paper_ids(rows[other]) == ["2508.10000", "2508.10001", "2508.10002"]


def test_everything_already_sent_counts_as_nothing_matched(sessions: sessionmaker[Session]) -> None:
    papers = gnn_papers(3)
    store(sessions, papers)
    who = subscribe(sessions, "gnn@example.com")
    mark_sent(sessions, who, papers)
    report = run(sessions)
    row = outbox_rows(sessions)[who]
    assert (row.state, row.content) == ("skipped", [])
    assert report.nothing_matched == 1


# --- nothing matched ----------------------------------------------------------------------


def test_nothing_matched_records_a_skipped_day_and_no_mail(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(2))
    who = subscribe(sessions, "nothing@example.com", NO_MATCH)
    report = run(sessions)
    row = outbox_rows(sessions)[who]
    assert (row.state, row.content) == ("skipped", [])
    assert (report.considered, report.queued, report.nothing_matched) == (1, 0, 1)
    claimed = outbox_claims.claim(
        sessions, now=NOW + timedelta(days=1), limit=10, lease=timedelta(1)
    )
    assert claimed == []


def test_quiet_day_queues_an_empty_digest(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(2))
    who = subscribe(sessions, "nothing@example.com", NO_MATCH)
    report = run(sessions, options(quiet_day=True))
    row = outbox_rows(sessions)[who]
    assert (row.state, row.content) == ("queued", [])
    assert (report.queued, report.nothing_matched) == (1, 1)
    (claimed,) = outbox_claims.claim(sessions, now=NOW, limit=10, lease=timedelta(minutes=10))
    assert claimed.subscriber_id == who
    assert claimed.paper_ids == []


# --- weekly -------------------------------------------------------------------------------


def test_weekly_subscribers_get_the_last_seven_days_on_their_weekday(
    sessions: sessionmaker[Session],
) -> None:
    store(
        sessions,
        [
            topic_paper("2508.17000", GNN, DAY - timedelta(days=7)),  # a week too old
            topic_paper("2508.16000", GNN, DAY - timedelta(days=6)),
            topic_paper("2508.13000", GNN, DAY - timedelta(days=3)),
            topic_paper("2508.10000", GNN, DAY),
            topic_paper("2508.20000", GNN, DAY + timedelta(days=1)),  # not out yet
        ],
    )
    weekly = subscribe(sessions, "weekly@example.com", weekly_on=DAY.weekday())
    other_day = subscribe(sessions, "monday@example.com", weekly_on=(DAY.weekday() + 5) % 7)
    daily = subscribe(sessions, "daily@example.com")
    run(sessions, options(max_papers=10))
    rows = outbox_rows(sessions)
    assert set(rows) == {weekly, daily}
    assert other_day not in rows  # not even a skipped row: it is not their day
    assert sorted(paper_ids(rows[weekly])) == ["2508.10000", "2508.13000", "2508.16000"]
    assert paper_ids(rows[daily]) == ["2508.10000"]


def test_weekly_subscriber_gets_nothing_on_other_days(sessions: sessionmaker[Session]) -> None:
    yesterday = DAY - timedelta(days=1)
    store(sessions, gnn_papers(2, yesterday), filler=False)
    subscribe(sessions, "weekly@example.com", weekly_on=DAY.weekday())
    report = run(sessions, day=yesterday)
    assert report.considered == 0
    assert outbox_rows(sessions) == {}


# --- candidates ---------------------------------------------------------------------------


def test_a_day_without_stored_papers_raises(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(3, DAY - timedelta(days=1)), filler=False)
    subscribe(sessions, "gnn@example.com")
    ids = MessageIds()
    with pytest.raises(NoPapersError):
        run(sessions, options(ids))
    assert outbox_rows(sessions) == {}
    assert ids.given == []


def test_an_empty_database_raises(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions, "gnn@example.com")
    with pytest.raises(NoPapersError):
        run(sessions, options(quiet_day=True))
    assert outbox_rows(sessions) == {}


def test_replacements_are_not_candidates(sessions: sessionmaker[Session]) -> None:
    store(
        sessions,
        [
            topic_paper("2508.10000", GNN),
            topic_paper("2508.10001", GNN, announce_type=AnnounceType.CROSS),
            topic_paper("2407.00001", GNN, announce_type=AnnounceType.REPLACE),
            topic_paper("2407.00002", GNN, announce_type=AnnounceType.REPLACE_CROSS),
        ],
    )
    who = subscribe(sessions, "gnn@example.com")
    report = run(sessions, options(max_papers=10))
    assert paper_ids(outbox_rows(sessions)[who]) == ["2508.10000", "2508.10001"]
    assert report.candidates == 2 + FILLER


def test_dry_run_writes_nothing(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(2))
    subscribe(sessions, "gnn@example.com")
    subscribe(sessions, "nothing@example.com", NO_MATCH)
    report = run(sessions, options(dry_run=True))
    assert outbox_rows(sessions) == {}
    assert (report.considered, report.queued, report.nothing_matched) == (2, 1, 1)
    samples = dict(report.sample)
    assert [m.paper.id for m in samples["gnn@example.com"]] == ["2508.10000", "2508.10001"]
    assert samples["nothing@example.com"] == []
    # A real run afterwards still queues both (the dry run decided nothing).
    assert run(sessions).considered == 2


def test_bounced_subscriber_stays_out_after_suppression(sessions: sessionmaker[Session]) -> None:
    store(sessions, gnn_papers(1))
    who = subscribe(sessions, "gnn@example.com")
    with sessions.begin() as session:
        session.get_one(SubscriberRow, who).status = Status.BOUNCED.value
    assert run(sessions).considered == 0


class CountingRanker(Ranker):
    """The real ranker, counting the matches queueing asks it to explain."""

    explained: ClassVar[list[int]] = []

    def rank_many(self, profiles: Any, **kwargs: Any) -> Any:
        for key, matches in super().rank_many(profiles, **kwargs):
            if kwargs.get("explain_matches", True):
                CountingRanker.explained.append(len(matches))
            yield key, matches


def test_reasons_are_worked_out_only_for_papers_that_make_the_digest(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    papers = gnn_papers(8)
    store(sessions, papers)
    veteran = subscribe(sessions, "veteran@example.com")
    subscribe(sessions, "new@example.com")
    late = subscribe(sessions, "late@example.com")
    mark_sent(sessions, veteran, papers[:5])  # the five best: the digest starts at the 6th
    mark_sent(sessions, late, papers[7:])  # the last: the digest is the first three
    monkeypatch.setattr(queueing, "Ranker", CountingRanker)
    CountingRanker.explained = []
    run(sessions, options(max_papers=3))
    rows = outbox_rows(sessions)
    assert paper_ids(rows[veteran]) == ["2508.10005", "2508.10006", "2508.10007"]
    assert paper_ids(rows[late]) == ["2508.10000", "2508.10001", "2508.10002"]
    # new: 3; late: 3 (not 3 + 5 because someone else received five); veteran: 8, to reach
    # past what they received. Before, everyone in the chunk was explained to 3 + 5.
    assert sorted(CountingRanker.explained) == [3, 3, 8]


def test_parts_split_the_subscribers_and_queue_each_once(
    any_sessions: sessionmaker[Session],
) -> None:
    store(any_sessions, gnn_papers(2))
    who = [subscribe(any_sessions, f"r{n}@example.com") for n in range(7)]
    opts = options(MessageIds())
    first = queue_digests(sessions=any_sessions, day=DAY, options=opts, embedder=None,
                          now=NOW, part=(0, 2))  # fmt: skip
    assert sorted(outbox_rows(any_sessions)) == [s for s in who if s % 2 == 0]
    second = queue_digests(sessions=any_sessions, day=DAY, options=opts, embedder=None,
                           now=NOW, part=(1, 2))  # fmt: skip
    assert first.queued + second.queued == 7
    assert sorted(outbox_rows(any_sessions)) == who
    assert run(any_sessions, opts).queued == 0  # nothing twice
