"""Running the `newsletter` command in-process (Typer's runner) against a test database."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from newsletter.cli.app import app
from newsletter.db.engine import make_engine, session_factory

SITE = "https://digest.example.org"  # NEWSLETTER_BASE_URL in the tests' `env`


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, input=stdin)


def ok(env: dict[str, str], *args: str) -> Result:
    result = invoke(env, *args)
    assert result.exit_code == 0, result.output
    return result


def error_line(result: Result) -> str:
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return line


def sessions_for(env: dict[str, str]) -> sessionmaker[Session]:
    """Sessions on the database the command line is pointed at: already migrated, as the
    `env` fixture's database is a copy of the migrated template (and every command that
    opens a database migrates it first)."""
    return session_factory(make_engine(env["NEWSLETTER_DATABASE_URL"]))
