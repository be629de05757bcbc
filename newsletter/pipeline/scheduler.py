"""The daily pipeline on a clock (APScheduler 3.x): fetch after the sources refresh, refit the
topics owed a refit and queue each subscriber's digest at their own hour, send, and take
back leases of dead workers.

Job state lives in the database (APScheduler's SQLAlchemy job store) with coalescing and a
misfire grace time, so after downtime each job runs once, not once per missed tick; the
dispatch job itself catches up missed days (see dispatch.py), which is what guarantees
"each missed digest once". Jobs are module functions (the job store keeps references, not
closures), reading the runtime `start` installs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import outbox_claims
from newsletter.db.papers import count_papers
from newsletter.delivery import wiring
from newsletter.domain import SAMPLE_ORIGIN
from newsletter.matching.embedding import load_embedder
from newsletter.matching.semantic import Embedder
from newsletter.metrics import PAPERS_FETCHED
from newsletter.pipeline.dispatch import dispatch
from newsletter.pipeline.fetch import build_sources, http_client, ingest
from newsletter.pipeline.queueing import DigestOptions
from newsletter.pipeline.sample import load_sample_day
from newsletter.sources import SourceError
from newsletter.subscribers.learning import Learner, refit_owed

log = logging.getLogger(__name__)
# arXiv rebuilds its listings at midnight US Eastern, Sunday to Thursday nights; the later
# runs retry a failed or early fetch. Hugging Face adds daily papers during the day.
ARXIV_FETCH = CronTrigger(day_of_week="mon-fri", hour="0,2,5", minute=30, timezone="US/Eastern")
HF_FETCH = CronTrigger(hour="8,12,16,20", minute=15, timezone="UTC")
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}


@dataclass
class Runtime:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _embedder: Embedder | None = field(default=None, init=False)
    _embedder_loaded: bool = field(default=False, init=False)

    @property
    def embedder(self) -> Embedder | None:
        if not self._embedder_loaded:
            self._embedder = load_embedder(self.settings.embedding_model)
            self._embedder_loaded = True
        return self._embedder


_runtime: Runtime | None = None


def _current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("scheduler jobs need scheduler.start() first")
    return _runtime


def digest_options(settings: Settings) -> DigestOptions:
    return DigestOptions(
        max_papers=settings.digest_max_papers,
        quiet_day=settings.digest_quiet_day,
        new_message_id=wiring.mail_identity(settings).new_message_id,
        window_days=2,
    )


def dispatch_job() -> None:
    runtime = _current()
    refit_job(runtime)
    dispatch(
        sessions=runtime.sessions,
        now=runtime.clock(),
        default_timezone=runtime.settings.timezone,
        options=digest_options(runtime.settings),
        embedder=runtime.embedder,
        catch_up_days=runtime.settings.catch_up_days,
        parts=runtime.settings.dispatch_parts,
    )


def refit_job(runtime: Runtime) -> None:
    """Before queueing: refit the topics whose examples changed after their model was fitted
    (only those; see subscribers.learning.refit_owed), so the digests read fresh models."""
    done = refit_owed(runtime.sessions, Learner(runtime.embedder), now=runtime.clock())
    if done.fitted or (done.left and runtime.embedder is not None):
        log.info(
            "refit pass: %d topics refitted, %d still owed",
            done.fitted,
            done.left,
            extra={"event": "refit", "fitted": done.fitted, "left": done.left},
        )


def send_job() -> None:
    runtime = _current()
    report = asyncio.run(
        wiring.send_all(runtime.settings, sessions=runtime.sessions, clock=runtime.clock)
    )
    if report.attempted:
        log.info("send run: %s", report.counts, extra={"event": "send", **report.counts})


def reclaim_job() -> None:
    runtime = _current()
    reclaimed = outbox_claims.reclaim_expired(runtime.sessions, now=runtime.clock())
    if reclaimed:
        log.warning("%d digests were reclaimed from dead workers", reclaimed)


def fetch_job(source: str | None) -> None:
    """Fetch `source` ("arxiv", "hf"; None: every configured one) and store the papers."""
    _fetch(_current(), source)


def first_fetch_job() -> None:
    """A new instance's first fetch, now rather than at the next scheduled hour. In dev,
    when it fails and the database still holds no papers, load the bundled sample day
    (see sample.py) so a newcomer without network can still try everything. One attempt
    per source there, with a short timeout: a newcomer offline should learn it in seconds,
    not after a minute of backoff (the scheduled fetches retry as always)."""
    runtime = _current()
    settings = runtime.settings
    if not settings.is_dev:
        _fetch(runtime, None)
        return
    quick = settings.model_copy(
        update={"http_retries": 0, "http_timeout_seconds": min(settings.http_timeout_seconds, 10)}
    )
    failed = _fetch(dataclasses.replace(runtime, settings=quick), None)
    if not failed:
        return
    now = runtime.clock()
    loaded = load_sample_day(runtime.sessions, today=now.date(), now=now)
    if loaded:
        log.warning(
            "the first fetch failed (%s) and no papers are stored: loaded %d sample papers "
            "from %s, dated today and marked as sample data on every page and mail, so the "
            "service can be tried offline; the first successful fetch replaces them",
            ", ".join(failed),
            loaded,
            SAMPLE_ORIGIN,
            extra={"event": "sample", "papers": loaded},
        )


def _fetch(runtime: Runtime, source: str | None) -> list[str]:
    """Fetch and store each source; the names of those that failed (each logged why)."""
    failed = []
    with http_client(runtime.settings) as client:
        for each in build_sources(
            source,
            settings=runtime.settings,
            client=client,
            today=lambda: runtime.clock().date(),
        ):
            try:
                outcome = ingest(each, sessions=runtime.sessions, day=None, now=runtime.clock())
            except SourceError as exc:
                log.warning("fetch %s failed: %s", each.name, exc, extra={"event": "fetch"})
                failed.append(each.name)
                continue
            log.info("fetched %s: %s", each.name, outcome.counts, extra={"event": "fetch"})
            for kind in ("new", "updated", "unchanged", "skipped"):
                PAPERS_FETCHED.labels(each.name, kind).inc(getattr(outcome.counts, kind))
    return failed


def start(runtime: Runtime, *, engine: Engine, paused: bool = False) -> BackgroundScheduler:
    """Install the runtime and start the jobs in a background thread (`paused`: scheduled
    but not run until `.resume()`)."""
    global _runtime
    _runtime = runtime
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults=JOB_DEFAULTS,
        timezone=UTC,
    )
    now = runtime.clock()
    scheduler.add_job(fetch_job, ARXIV_FETCH, args=["arxiv"], id="fetch-arxiv",
                      replace_existing=True)  # fmt: skip
    if runtime.settings.hf_daily_papers:
        scheduler.add_job(fetch_job, HF_FETCH, args=["hf"], id="fetch-hf", replace_existing=True)
    scheduler.add_job(dispatch_job, IntervalTrigger(minutes=5), id="dispatch",
                      next_run_time=now, replace_existing=True)  # fmt: skip
    if runtime.settings.scheduler_sends:
        scheduler.add_job(send_job, IntervalTrigger(minutes=1), id="send",
                          next_run_time=now, replace_existing=True)  # fmt: skip
    scheduler.add_job(reclaim_job, IntervalTrigger(minutes=5), id="reclaim",
                      replace_existing=True)  # fmt: skip
    with runtime.sessions() as session:
        empty = count_papers(session) == 0
    if empty:  # a new instance: fetch now rather than at the next scheduled hour
        scheduler.add_job(first_fetch_job, id="fetch-first", next_run_time=now,
                          replace_existing=True)  # fmt: skip
    scheduler.start(paused=paused)
    return scheduler
