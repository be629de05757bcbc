"""`alembic upgrade head` builds exactly the models' schema, and `downgrade base` undoes it."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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
    assert migrations.current_revision(engine) == "0010"
    engine.dispose()


def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrations.upgrade(engine)
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == "0010"
    engine.dispose()


def test_every_profile_becomes_its_subscribers_first_topic(database_url: str) -> None:
    """0010 keeps each existing profile as topic 0 ("My interests"); a second topic may
    follow; downgrading keeps the first topic only and one profile per subscriber again."""
    engine = make_engine(database_url)
    migrations.upgrade(engine, "0009")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO subscribers (id, email, status, created_at, token_key, send_hour,"
                " frequency, send_weekday) VALUES (1, 'a@example.org', 'active',"
                " '2026-01-01 00:00:00+00:00', 'k', 7, 'daily', 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO interest_profiles (subscriber_id, description, keywords,"
                " negative_keywords, categories, category_mode, authors, seed_papers,"
                " disliked_papers, updated_at) VALUES (1, 'graph neural networks', '[\"GNN\"]',"
                " '[]', '[]', 'boost', '[]', '[\"2401.00001\"]', '[]',"
                " '2026-01-01 00:00:00+00:00')"
            )
        )
    migrations.upgrade(engine)
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT name, position, description, seed_papers FROM interest_profiles")
        ).all()
        assert [tuple(r[:3]) for r in rows] == [("My interests", 0, "graph neural networks")]
        connection.execute(
            text(
                "INSERT INTO interest_profiles (subscriber_id, name, position, description,"
                " keywords, negative_keywords, categories, category_mode, authors, seed_papers,"
                " disliked_papers, updated_at) VALUES (1, 'Robotics', 1, '', '[]', '[]', '[]',"
                " 'boost', '[]', '[]', '[]', '2026-01-01 00:00:00+00:00')"
            )
        )
    migrations.downgrade(engine, "0009")
    with engine.connect() as connection:
        left = connection.execute(text("SELECT description FROM interest_profiles")).all()
    assert [r[0] for r in left] == ["graph neural networks"]
    engine.dispose()
