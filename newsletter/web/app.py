"""FastAPI app factory: everything it needs is passed in, so each test builds its own."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from newsletter import __version__
from newsletter.config import Settings
from newsletter.db.papers import list_papers
from newsletter.delivery import wiring
from newsletter.delivery.transactional import Mailer, smtp_mailer
from newsletter.domain import paper_json
from newsletter.mail.links import Links
from newsletter.mail.tokens import Tokens
from newsletter.matching.semantic import Embedder
from newsletter.resources import resource_dir
from newsletter.web.api import InvalidInput, api_router, invalid_handler
from newsletter.web.context import PageError, Web, WebLimits
from newsletter.web.dev_mail import dev_mail_router
from newsletter.web.feeds import feeds_router
from newsletter.web.manage import manage_router
from newsletter.web.preview import Previewer
from newsletter.web.security import Csrf, SecurityMiddleware
from newsletter.web.subscribe import subscribe_router


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    mailer: Mailer | None = None,
    embedder: Embedder | None = None,
    clock: Callable[[], float] = time.time,
    limits: WebLimits | None = None,
    scheduler_alive: Callable[[], bool] | None = None,
) -> FastAPI:
    """`mailer` defaults to SMTP as configured; `embedder` (optional) makes the subscribe
    page's preview semantic like the digest; `clock` drives tokens, CSRF and rate limits;
    `scheduler_alive` (given by `newsletter run`) makes /healthz check the scheduler too."""
    limits = limits or WebLimits()
    app = FastAPI(title="newsletter", version=__version__)
    templates = Jinja2Templates(directory=resource_dir("templates"))
    secret = settings.secret_key.get_secret_value()
    tokens = Tokens(secret, clock=clock)
    links = Links(base_url=settings.base_url, tokens=tokens)
    csrf = Csrf(secret, https=settings.base_url.startswith("https://"), clock=clock)
    web = Web(
        settings=settings,
        sessions=sessions,
        templates=templates,
        tokens=tokens,
        links=links,
        composer=dataclasses.replace(wiring.composer(settings), links=links),
        mailer=mailer or smtp_mailer(settings, sessions),
        csrf=csrf,
        previewer=Previewer(sessions, embedder, limit=settings.digest_max_papers),
        limits=limits,
        clock=clock,
    )
    app.add_middleware(SecurityMiddleware, csrf=csrf, max_body=limits.max_body_bytes)
    app.mount("/static", StaticFiles(directory=resource_dir("static")), name="static")
    if settings.uses_mail_sink:
        app.include_router(dev_mail_router(settings.mail_sink_dir, templates))
    app.include_router(subscribe_router(web))
    app.include_router(manage_router(web))
    app.include_router(feeds_router(web))
    app.include_router(api_router(web))

    app.add_exception_handler(InvalidInput, invalid_handler)

    @app.exception_handler(PageError)
    def page_error(request: Request, exc: PageError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return web.notice(request, exc.title, exc.message, status=exc.status)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        report = {"status": "ok", "database": "ok"}
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            report.update(status="error", database=str(exc)[:200])
        if scheduler_alive is not None:
            report["scheduler"] = "ok" if scheduler_alive() else "stopped"
            if report["scheduler"] != "ok":
                report["status"] = "error"
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/papers")
    def api_papers(
        day: Annotated[date | None, Query(alias="date")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, object]]:
        with sessions() as session:
            papers = list_papers(session, day=day, limit=limit)
        return [paper_json(p) for p in papers]

    return app
