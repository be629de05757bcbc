"""What every command shares: consoles, error exits, settings and argument parsing."""

from __future__ import annotations

import logging
from datetime import date
from enum import StrEnum
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import LogFormat, Settings
from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.logs import JsonFormatter

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", style="red", markup=False, highlight=False)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings: {problems}", code=2)
    handler: logging.Handler = RichHandler(console=err, show_path=False)
    if settings.log_format is LogFormat.JSON:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(message)s", handlers=[handler], force=True
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run
    return settings


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}", code=2)


def migrated(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on the configured database, migrated to the latest schema, and sessions."""
    engine = make_engine(settings.database_url)
    migrations.upgrade(engine)
    return engine, session_factory(engine)
