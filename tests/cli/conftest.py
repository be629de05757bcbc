"""The environment every `newsletter` command runs with in these tests.

One `env` for all CLI tests; a module that needs a setting of its own overrides
`env_overrides` (None leaves a setting at the service's default)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli_support import SITE


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
