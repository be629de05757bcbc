"""Alembic environment: the engine comes from the caller (newsletter.db.migrations)
or, for the `alembic` command itself, from NEWSLETTER_DATABASE_URL via Settings."""

from __future__ import annotations

from sqlalchemy import Engine

from alembic import context
from newsletter.db.models import Base

target_metadata = Base.metadata


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if engine is not None:
        return engine
    from newsletter.config import Settings
    from newsletter.db.engine import make_engine

    return make_engine(Settings().database_url)


def _ours(name: str | None, type_: str, _parents: object) -> bool:
    # APScheduler's job store keeps its own table in the same database.
    return not (type_ == "table" and name == "apscheduler_jobs")


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=_ours,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
