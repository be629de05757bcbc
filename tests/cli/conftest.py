"""The environment every `newsletter` command runs with in these tests.

One `env` for all CLI tests; a module that needs a setting of its own overrides
`env_overrides` (None leaves a setting at the service's default). The click command behind
the Typer app is built once per session, as one `newsletter` process builds it once."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
import typer.testing

from tests.support.cli_support import SITE


@pytest.fixture(scope="session", autouse=True)
def command_built_once() -> Iterator[None]:
    """Typer's CliRunner turns the app into a click command on every invoke (about 25 ms of
    evaluating every command's annotations); the `newsletter` process does that once, and
    so do the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))
        yield


@pytest.fixture
def env_overrides() -> dict[str, str | None]:
    return {}


@pytest.fixture
def env(
    tmp_path: Path, sqlite_template: Path, env_overrides: dict[str, str | None]
) -> dict[str, str]:
    """NEWSLETTER_* settings for one test: its own SQLite file (a copy of the migrated
    template), lexical ranking only (no model to load), no HTTP retries, mail sink kept in
    tmp_path, quiet logs, and rich tables wide enough never to fold a key or a subject."""
    database = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, database)
    common: dict[str, str | None] = {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{database}",
        "NEWSLETTER_EMBEDDING_MODEL": "",
        "NEWSLETTER_HTTP_RETRIES": "0",
        "NEWSLETTER_BASE_URL": SITE,
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_MAIL_SINK_DIR": str(tmp_path / "mail"),
        "NEWSLETTER_LOG_LEVEL": "WARNING",
        "COLUMNS": "250",
    }
    return {key: value for key, value in (common | env_overrides).items() if value is not None}
