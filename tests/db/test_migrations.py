"""`alembic upgrade head` builds exactly the models' schema, and `downgrade base` undoes it."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from newsletter.db import migrations
from newsletter.db.engine import make_engine
from newsletter.db.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


def test_upgrade_head_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrations.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert differences == []


def test_downgrade_base_removes_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    migrations.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    migrations.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert migrations.current_revision(engine) is None
    migrations.upgrade(engine)  # and it can be rebuilt
    assert migrations.current_revision(engine) == "0009"
    engine.dispose()


def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == "0009"
    engine.dispose()
