"""`newsletter run`, `serve` and `db`: migrate the database and serve the whole service."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.common import err, fail, load_settings, out
from newsletter.cli.help import App

if TYPE_CHECKING:
    from newsletter.config import Settings

db_app = App(no_args_is_help=True, help="Database migrations.")


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(serve)
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from newsletter.db import migrations
    from newsletter.db.engine import make_engine

    settings = load_settings()
    migrations.upgrade(make_engine(settings.database_url), revision)
    out.print(f"database at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    """Revert migrations down to REVISION (default: an empty database)."""
    from newsletter.db import migrations
    from newsletter.db.engine import make_engine

    settings = load_settings()
    migrations.downgrade(make_engine(settings.database_url), revision)
    out.print(f"database at revision {revision}")


Host = Annotated[str, typer.Option(help="Address to listen on")]
Port = Annotated[
    int | None, typer.Option(min=1, max=65535, help="Web port (default: NEWSLETTER_PORT, 8000)")
]


def run(host: Host = "127.0.0.1", port: Port = None) -> None:
    """Migrate the database, then serve the whole service: the web app, the scheduler (fetch,
    dispatch at each subscriber's hour, send) and, when no SMTP relay is configured, the
    development mail sink. A busy port stops it before anything starts."""
    from newsletter.db import migrations
    from newsletter.db.engine import make_engine, session_factory
    from newsletter.delivery.sink import SINK_HOST, start_sink
    from newsletter.pipeline import scheduler

    settings = _on_port(load_settings(), port)
    with _listening(host, settings.port) as web_socket:
        sink = None
        if settings.uses_mail_sink:
            try:
                sink = start_sink(settings.mail_sink_dir, port=settings.mail_sink_port)
            except OSError as exc:
                fail(_busy(exc, SINK_HOST, settings.mail_sink_port, "the development mail sink",
                           "set NEWSLETTER_MAIL_SINK_PORT"))  # fmt: skip
            err.print(
                f"development mail sink on {SINK_HOST}:{settings.mail_sink_port}; mail is kept "
                f"in {settings.mail_sink_dir} and shown at {settings.base_url}/dev/mail",
                highlight=False,
            )
        try:
            engine = make_engine(settings.database_url)
            migrations.upgrade(engine)
            runtime = scheduler.Runtime(settings, session_factory(engine))
            jobs = scheduler.start(runtime, engine=engine)
            try:
                _serve(settings, web_socket, scheduler_alive=lambda: bool(jobs.running))
            finally:
                jobs.shutdown(wait=False)
        finally:
            if sink is not None:
                sink.stop()


def serve(host: Host = "127.0.0.1", port: Port = None) -> None:
    """Serve the web app on an already migrated database."""
    settings = _on_port(load_settings(), port)
    with _listening(host, settings.port) as web_socket:
        _serve(settings, web_socket)


def _on_port(settings: Settings, port: int | None) -> Settings:
    # One --port moves everything that follows it (in dev, the base URL of mailed links).
    return settings if port is None else settings.on_port(port)


@contextmanager
def _listening(host: str, port: int) -> Iterator[socket.socket]:
    """The web app's socket, bound before anything else starts: a busy port ends the command
    with one line instead of a scheduler running beside a web app that never came up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(_busy(exc, host, port, "the web app", "choose another with --port or NEWSLETTER_PORT"))
    with sock:
        yield sock


def _busy(error: OSError, host: str, port: int, user: str, remedy: str) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is busy ({user} needs it): free it, or {remedy}"
    return f"cannot listen on {host}:{port} for {user}: {error.strerror or error}"


def _serve(
    settings: Settings,
    web_socket: socket.socket,
    *,
    scheduler_alive: Callable[[], bool] | None = None,
) -> None:
    import uvicorn

    from newsletter.db.engine import make_engine, session_factory
    from newsletter.matching.embedding import load_embedder
    from newsletter.web.app import create_app, server_options

    engine = make_engine(settings.database_url)
    web = create_app(
        settings,
        sessions=session_factory(engine),
        scheduler_alive=scheduler_alive,
        # Loaded on the first vote, rating or import that refits a model, not at start.
        learning_embedder=load_embedder(settings.embedding_model),
    )
    host, port = web_socket.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(web, host=host, port=port, **server_options(settings)))
    server.run(sockets=[web_socket])
    if not server.started:  # uvicorn logged why; the caller's `finally` stops the rest
        fail(f"the web app did not start on {host}:{port}")
