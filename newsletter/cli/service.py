"""`newsletter run`, `serve` and `db`: migrate the database and serve the whole service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from newsletter.cli.common import (
    err,
    load_settings,
    out,
)
from newsletter.config import Settings
from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.delivery.sink import SINK_HOST, start_sink
from newsletter.pipeline import scheduler

db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(serve)
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = load_settings()
    migrations.upgrade(make_engine(settings.database_url), revision)
    out.print(f"database at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    """Revert migrations down to REVISION (default: an empty database)."""
    settings = load_settings()
    migrations.downgrade(make_engine(settings.database_url), revision)
    out.print(f"database at revision {revision}")


def run(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Migrate the database, then serve the whole service: the web app, the scheduler (fetch,
    dispatch at each subscriber's hour, send) and, when no SMTP relay is configured, the
    development mail sink."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    migrations.upgrade(engine)
    sink = None
    if settings.uses_mail_sink:
        sink = start_sink(settings.mail_sink_dir, port=settings.mail_sink_port)
        err.print(
            f"development mail sink on {SINK_HOST}:{settings.mail_sink_port}; mail is kept in "
            f"{settings.mail_sink_dir} and shown at {settings.base_url}/dev/mail",
            highlight=False,
        )
    jobs = scheduler.start(scheduler.Runtime(settings, session_factory(engine)), engine=engine)
    try:
        _serve(settings, host=host, port=port, scheduler_alive=lambda: bool(jobs.running))
    finally:
        jobs.shutdown(wait=False)
        if sink is not None:
            sink.stop()


def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve the web app on an already migrated database."""
    _serve(load_settings(), host=host, port=port)


def _serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    scheduler_alive: Callable[[], bool] | None = None,
) -> None:
    import uvicorn

    from newsletter.web.app import create_app, server_options

    engine = make_engine(settings.database_url)
    web = create_app(settings, sessions=session_factory(engine), scheduler_alive=scheduler_alive)
    uvicorn.run(web, host=host, port=port, **server_options(settings))
