"""Real databases for tests: SQLite files and PostgreSQL databases, migrated once per session.

Alembic builds the schema once per test session into a template (an SQLite file; a
PostgreSQL database); every test that asks for a migrated database gets a copy of it
(`shutil.copyfile`; `CREATE DATABASE … TEMPLATE …`). A copy takes a millisecond on SQLite,
where Alembic takes about 0.2 s, and on PostgreSQL about half of what creating an empty
database and migrating it takes. Only tests/db/test_migrations.py runs Alembic itself, on
the empty databases `sqlite_url` and `postgres_url` give.

    sqlite_url             a path in the test's tmp_path; empty unless `engine` fills it
    engine, sessions       that file, a copy of the migrated template
    postgres_url           a fresh, empty PostgreSQL database (dropped afterwards)
    migrated_postgres_url  a fresh copy of the migrated PostgreSQL template
    pg_engine, pg_sessions on `migrated_postgres_url`
    any_sessions           parametrised: the test runs on SQLite and on PostgreSQL
    postgres_server        the server named by NEWSLETTER_TEST_POSTGRES_URL

The PostgreSQL fixtures skip when no server is named, except in CI (CI=true), where a
missing server fails, so the PostgreSQL tests can never be silently skipped there.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory

POSTGRES_ENV = "NEWSLETTER_TEST_POSTGRES_URL"


def migrate_sqlite_template(path: Path) -> Path:
    """Migrate an SQLite file and leave it whole in one file, ready to be copied.

    In WAL mode recent commits live in `-wal` beside the file; the checkpoint moves them
    into the file, and closing the last connection removes the `-wal` and `-shm` files."""
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    leftovers = [p.name for p in path.parent.glob(f"{path.name}-*")]
    assert not leftovers, f"the template is not in one file: {leftovers}"
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to the latest schema, once per session (never opened again)."""
    return migrate_sqlite_template(tmp_path_factory.mktemp("template") / "newsletter.db")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsletter.db'}"


@pytest.fixture
def engine(sqlite_url: str, sqlite_template: Path) -> Iterator[Engine]:
    """The test's SQLite file, a copy of the migrated template."""
    database = make_url(sqlite_url).database
    assert database is not None
    shutil.copyfile(sqlite_template, database)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the PostgreSQL server the tests may create databases on."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: .ci/run must start PostgreSQL")
        pytest.skip(f"set {POSTGRES_ENV} (as .ci/run does) to run the PostgreSQL tests")
    return base


def _create_database(server: str, *, template: str | None = None) -> str:
    """A new database's name; a copy of `template` (no one may be connected to it)."""
    name = f"newsletter_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            copy = f' TEMPLATE "{template}"' if template else ""
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    return name


def _drop_database(server: str, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _fresh_database(server: str, *, template: str | None = None) -> Iterator[str]:
    name = _create_database(server, template=template)
    try:
        yield _database_url(server, name)
    finally:
        _drop_database(server, name)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with _fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """The name of a PostgreSQL database migrated once per session, copied by each test.

    Nothing stays connected to it: PostgreSQL copies a database only while no one is."""
    name = _create_database(postgres_server)
    try:
        engine = make_engine(_database_url(postgres_server, name))
        migrations.upgrade(engine)
        engine.dispose()
        yield name
    finally:
        _drop_database(postgres_server, name)


@pytest.fixture
def migrated_postgres_url(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database with the latest schema, dropped afterwards."""
    with _fresh_database(postgres_server, template=postgres_template) as url:
        yield url


@pytest.fixture
def pg_engine(migrated_postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_sessions(pg_engine: Engine) -> sessionmaker[Session]:
    return session_factory(pg_engine)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_sessions(request: pytest.FixtureRequest) -> sessionmaker[Session]:
    """Sessions on a migrated database: the test runs once on SQLite, once on PostgreSQL."""
    fixture = "sessions" if request.param == "sqlite" else "pg_sessions"
    return cast("sessionmaker[Session]", request.getfixturevalue(fixture))
