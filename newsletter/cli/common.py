"""What every command shares: consoles, error exits, settings and argument parsing.

Imported on every start, `--help` included, which must stay under half a second: so the
modules of the command line import only Typer, rich and the pure domain types at the top, and
everything heavier (pydantic settings, SQLAlchemy, the matcher, numpy) inside the functions
that need it. `tests/cli/test_cli_startup.py` checks which modules `--help` loads.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from newsletter.domain import CategoryMode, InterestProfile

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from newsletter.config import Settings
    from newsletter.delivery.sender import SendReport

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", style="red", markup=False, highlight=False)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The validated settings, or exit 2 naming every setting that is wrong; then logging is
    set up from them. Every command starts here (not in an app callback, which would run,
    and could fail, for `--help` too)."""
    from pydantic import ValidationError
    from rich.logging import RichHandler

    from newsletter.config import LogFormat, Settings
    from newsletter.logs import configure_logging

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings: {problems}", code=2)
    configure_logging(
        level=settings.log_level,
        json_lines=settings.log_format is LogFormat.JSON,
        console=RichHandler(console=err, show_path=False),
    )
    return settings


def address_or_fail(text: str) -> str:
    """The normalised address, or exit 2 saying what is wrong with it."""
    from newsletter.subscribers.addresses import AddressError, normalise_address

    try:
        return normalise_address(text)
    except AddressError as exc:
        fail(str(exc), code=2)


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}", code=2)


def send_summary(report: SendReport) -> str:
    """What a send run did, as `send` and `worker --once` print it."""
    counts = report.counts
    # A recipient's policy refusal (5.7.x at RCPT) is retried like any deferral.
    deferred = counts["deferred"] + counts["ambiguous"] + counts.get("refused", 0)
    return (
        f"sent {counts['sent']}, deferred {deferred}, "
        f"bounced {counts['bounced']}, failed {counts['failed']}, cancelled {report.cancelled}"
    )


def today(settings: Settings) -> date:
    """The service's day (in NEWSLETTER_TIMEZONE): what `digest` and `fetch` default to."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(settings.timezone)).date()


def migrated(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on the configured database, migrated to the latest schema, and sessions."""
    from newsletter.db import migrations
    from newsletter.db.engine import make_engine, session_factory

    engine = make_engine(settings.database_url)
    migrations.upgrade(engine)
    return engine, session_factory(engine)


# The interest options, shared by every command that takes a profile.
Interests = Annotated[str, typer.Option(help="Interests in a sentence or two")]
Keywords = Annotated[
    list[str] | None, typer.Option("--keyword", help="Keyword or phrase, repeatable")
]
Excluded = Annotated[
    list[str] | None, typer.Option("--exclude", help="Never show papers with this term, repeatable")
]
Categories = Annotated[
    list[str] | None, typer.Option("--category", help="arXiv category, repeatable")
]
CategoryModeOption = Annotated[CategoryMode, typer.Option("--category-mode")]
Authors = Annotated[list[str] | None, typer.Option("--author", help="Author to follow, repeatable")]


def profile_or_fail(
    *,
    interests: str,
    keyword: list[str] | None,
    exclude: list[str] | None,
    category: list[str] | None,
    category_mode: CategoryMode,
    author: list[str] | None,
    seed_paper: list[str] | None = None,
) -> InterestProfile:
    """The validated profile, or exit 2 listing every problem."""
    from newsletter.matching.profile import ProfileError, build_profile

    try:
        return build_profile(
            description=interests,
            keywords=keyword or (),
            exclude=exclude or (),
            categories=category or (),
            category_mode=category_mode,
            authors=author or (),
            seed_papers=seed_paper or (),
        )
    except ProfileError as exc:
        fail(str(exc), code=2)
