"""Pipeline stage after fetch: match the day's papers against every topic of every due
subscriber, each topic with its own model (newsletter.pipeline.topics), and queue one digest
each. Rendering and sending happen later, per message, in the sender."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice

from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import outbox
from newsletter.db.due import DueSlot, DueSubscriber, due_subscribers, example_paper_ids
from newsletter.db.embeddings import DbEmbeddingCache
from newsletter.db.papers import digest_candidates, papers_by_id
from newsletter.db.topic_models import models_for
from newsletter.domain import Frequency, Match, Paper
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder
from newsletter.pipeline.topics import fresh_matches

log = logging.getLogger(__name__)
CHUNK = 1000  # subscribers matched and queued per transaction


class NoPapersError(RuntimeError):
    """No papers stored for the day: a failed or missing fetch must not mail empty digests."""


@dataclass
class DigestReport:
    day: date
    candidates: int
    considered: int = 0
    queued: int = 0
    nothing_matched: int = 0
    sample: list[tuple[str, list[Match]]] = field(default_factory=list)  # first few, for --dry-run


@dataclass(frozen=True)
class DigestOptions:
    max_papers: int
    quiet_day: bool  # send a short note when nothing matched (default: no mail at all)
    new_message_id: Callable[[], str]
    dry_run: bool = False
    # Days of papers a daily digest draws from, ending with its own day. The scheduler uses
    # 2, so a reader whose morning falls before the day's listing still gets yesterday's
    # (what they already received is never sent again).
    window_days: int = 1


def queue_digests(
    *,
    sessions: sessionmaker[Session],
    day: date,
    options: DigestOptions,
    embedder: Embedder | None,
    now: datetime,
    progress: Callable[[int], None] = lambda _: None,
    slots: Sequence[DueSlot] | None = None,
    part: tuple[int, int] | None = None,
) -> DigestReport:
    """Queue `day`'s digest for every due subscriber (only those in `slots` when given, only
    part k of n when `part` is (k, n): processes given different parts share the work);
    running it again queues only the subscribers still missing one (the outbox is unique
    per subscriber and day, so overlapping runs queue nothing twice)."""
    report = DigestReport(day=day, candidates=0)
    with sessions() as reader:
        subscribers = due_subscribers(reader, day=day, slots=slots, part=part)
        chunk = list(islice(subscribers, CHUNK))
        if not chunk:  # the usual case for the scheduler's frequent dispatch ticks
            return report
        ranker_for = _rankers(sessions, day=day, options=options, embedder=embedder)
        while chunk:
            digests = _match_chunk(
                chunk, day=day, sessions=sessions, ranker_for=ranker_for, options=options
            )
            _tally(report, chunk, digests, quiet_day=options.quiet_day)
            if not options.dry_run:
                with sessions.begin() as writer:
                    outbox.enqueue(writer, _worth_queueing(digests, options), now=now)
            progress(len(chunk))
            chunk = list(islice(subscribers, CHUNK))
    if report.considered == 0:
        # Subscribers were due but no window had papers: a missing fetch, not a quiet day.
        raise NoPapersError(f"no papers stored for {day}: run `newsletter fetch` first")
    report.candidates = max((len(r.papers) for r in ranker_for.built()), default=0)
    return report


@dataclass
class _Rankers:
    """A ranker per frequency over its window of papers (the day's last `window_days` for
    daily digests, the week for weekly ones), built on first use; None for an empty window,
    whose subscribers are left undecided (a later dispatch, after a fetch, serves them)."""

    sessions: sessionmaker[Session]
    day: date
    windows: dict[Frequency, int]
    embedder: Embedder | None
    known: list[Paper]
    cache: DbEmbeddingCache
    _rankers: dict[Frequency, Ranker | None] = field(default_factory=dict)

    def __call__(self, frequency: Frequency) -> Ranker | None:
        if frequency not in self._rankers:
            first = self.day - timedelta(days=self.windows[frequency] - 1)
            with self.sessions() as session:
                papers = digest_candidates(session, first=first, last=self.day)
            self._rankers[frequency] = None
            if papers:
                self._rankers[frequency] = Ranker(
                    papers,
                    embedder=self.embedder,
                    cache=self.cache,
                    profile_cache=self.cache,
                    known_papers=self.known,
                )
        return self._rankers[frequency]

    def built(self) -> list[Ranker]:
        return [r for r in self._rankers.values() if r is not None]


def _rankers(
    sessions: sessionmaker[Session], *, day: date, options: DigestOptions, embedder: Embedder | None
) -> _Rankers:
    with sessions() as session:
        known = list(papers_by_id(session, sorted(example_paper_ids(session))).values())
    return _Rankers(
        sessions=sessions,
        day=day,
        windows={Frequency.DAILY: options.window_days, Frequency.WEEKLY: 7},
        embedder=embedder,
        known=known,
        cache=DbEmbeddingCache(sessions),
    )


def _match_chunk(
    chunk: list[DueSubscriber],
    *,
    day: date,
    sessions: sessionmaker[Session],
    ranker_for: Callable[[Frequency], Ranker | None],
    options: DigestOptions,
) -> list[outbox.NewDigest]:
    digests: list[outbox.NewDigest] = []
    for frequency in Frequency:
        group = [s for s in chunk if s.frequency is frequency]
        if not group:
            continue
        ranker = ranker_for(frequency)
        if ranker is None:
            continue
        with sessions() as session:
            already = outbox.sent_paper_ids(
                session,
                subscriber_ids=[s.id for s in group],
                paper_ids=[p.id for p in ranker.papers],
            )
            models = models_for(session, [t.tag.id for s in group for t in s.topics])
        chosen = fresh_matches(ranker, group, already, limit=options.max_papers, models=models)
        digests += [
            outbox.NewDigest(
                subscriber_id=subscriber.id,
                digest_date=day,
                message_id=options.new_message_id(),
                matches=[match for _, match in chosen[subscriber.id]],
                topics=[topic for topic, _ in chosen[subscriber.id]],
            )
            for subscriber in group
        ]
    return digests


def _worth_queueing(
    digests: list[outbox.NewDigest], options: DigestOptions
) -> Iterator[outbox.NewDigest]:
    for digest in digests:
        if digest.matches or options.quiet_day:
            yield digest
        else:
            # Recorded all the same, so the day counts as decided for this subscriber.
            yield outbox.NewDigest(
                subscriber_id=digest.subscriber_id,
                digest_date=digest.digest_date,
                message_id=digest.message_id,
                matches=(),
                state=outbox.State.SKIPPED,
            )


def _tally(
    report: DigestReport,
    chunk: list[DueSubscriber],
    digests: list[outbox.NewDigest],
    *,
    quiet_day: bool,
) -> None:
    emails = {s.id: s.email for s in chunk}
    report.considered += len(digests)
    for digest in digests:
        report.nothing_matched += not digest.matches
        report.queued += bool(digest.matches) or quiet_day
        if len(report.sample) < 20:
            report.sample.append((emails[digest.subscriber_id], list(digest.matches)))
