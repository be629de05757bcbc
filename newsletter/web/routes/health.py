"""For operators and monitors: /healthz (database, and the scheduler when it runs in this
process), Prometheus /metrics, and the stored papers as JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.papers import list_papers
from newsletter.domain import paper_json
from newsletter.web.deps import DbSession, SchedulerAliveDep, SessionsDep

router = APIRouter()
log = logging.getLogger(__name__)

CHECK_SECONDS = 3.0  # a monitor wants an answer, not a hung request
# Its own two threads: a thread pool busy with requests waiting on a lock must not hold up
# the answer to "is the service up?".
_CHECKS = anyio.CapacityLimiter(2)


def health_report(
    sessions: sessionmaker[Session], scheduler_alive: Callable[[], bool] | None
) -> dict[str, str]:
    """Each part "ok" or a word for what is wrong with it, never the driver's message (it
    names hosts, ports and paths; the log has it). The database is asked directly, outside
    the request transaction, so a failing database is reported instead of failing the check."""
    report = {"status": "ok", "database": "ok"}
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: the database did not answer")
        report.update(status="error", database="unreachable")
    if scheduler_alive is not None:
        report["scheduler"] = "ok" if scheduler_alive() else "stopped"
        if report["scheduler"] != "ok":
            report["status"] = "error"
    return report


@router.get("/healthz")
async def healthz(sessions: SessionsDep, scheduler_alive: SchedulerAliveDep) -> JSONResponse:
    report = {"status": "error", "database": "no answer"}
    with anyio.move_on_after(CHECK_SECONDS):
        report = await anyio.to_thread.run_sync(
            health_report, sessions, scheduler_alive, limiter=_CHECKS, abandon_on_cancel=True
        )
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/papers")
def api_papers(
    session: DbSession,
    day: Annotated[date | None, Query(alias="date")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, object]]:
    return [paper_json(p) for p in list_papers(session, day=day, limit=limit)]
