"""FastAPI app factory: everything it needs is passed in, so each test builds its own."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from newsletter import __version__
from newsletter.config import Settings
from newsletter.db.papers import list_papers
from newsletter.domain import paper_json
from newsletter.web.dev_mail import dev_mail_router

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def create_app(settings: Settings, *, sessions: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(title="newsletter", version=__version__)
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    if settings.uses_mail_sink:
        app.include_router(dev_mail_router(settings.mail_sink_dir, templates))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        with sessions() as session:
            papers = list_papers(session, limit=50)
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "papers": papers,
                "base_url": settings.base_url,
                "mail_sink": settings.uses_mail_sink,
            },
        )

    @app.get("/api/papers")
    def api_papers(
        day: Annotated[date | None, Query(alias="date")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, object]]:
        with sessions() as session:
            papers = list_papers(session, day=day, limit=limit)
        return [paper_json(p) for p in papers]

    return app
