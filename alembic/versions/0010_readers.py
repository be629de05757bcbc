"""readers: topics (several named profiles per subscriber), library entries, votes, models

Every existing interest profile stays, as its subscriber's first topic (position 0, named
"My interests"): the one-profile-per-subscriber unique constraint gives way to one name per
subscriber. Downgrading keeps only each subscriber's first topic.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's batch mode rebuilds the table: an unnamed constraint needs a name to be dropped.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
OLD_UNIQUE = "uq_interest_profiles_subscriber_id"
NEW_UNIQUE = "uq_interest_profiles_subscriber_name"
FIRST_TOPIC = "My interests"


def _unique_on_subscriber() -> str:
    """The one-profile constraint's name: PostgreSQL named it itself
    (interest_profiles_subscriber_id_key); SQLite's has none (NAMING gives it one)."""
    for found in sa.inspect(op.get_bind()).get_unique_constraints("interest_profiles"):
        if found["column_names"] == ["subscriber_id"] and found["name"]:
            return str(found["name"])
    return OLD_UNIQUE


def _topic() -> sa.ForeignKey:
    return sa.ForeignKey("interest_profiles.id", ondelete="CASCADE")


def upgrade() -> None:
    old_unique = _unique_on_subscriber()
    with op.batch_alter_table("interest_profiles", naming_convention=NAMING) as batch:
        batch.add_column(
            sa.Column("name", sa.String(length=80), nullable=False, server_default=FIRST_TOPIC)
        )
        batch.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(old_unique, type_="unique")
        batch.create_unique_constraint(NEW_UNIQUE, ["subscriber_id", "name"])
    op.create_table(
        "library_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), _topic(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("arxiv_id", sa.String(length=64), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic_id", "key", name="uq_library_entries_topic_key"),
    )
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), _topic(), nullable=False),
        sa.Column("paper_id", sa.String(length=255), nullable=False),
        sa.Column("liked", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic_id", "paper_id", name="uq_votes_topic_paper"),
    )
    op.create_table(
        "topic_models",
        sa.Column("topic_id", sa.Integer(), _topic(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("examples_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("topic_id"),
    )


def downgrade() -> None:
    op.drop_table("topic_models")
    op.drop_table("votes")
    op.drop_table("library_entries")
    # One profile per subscriber again: the first topic stays, the others go.
    op.execute(sa.text("DELETE FROM interest_profiles WHERE position <> 0"))
    with op.batch_alter_table("interest_profiles", naming_convention=NAMING) as batch:
        batch.drop_constraint(NEW_UNIQUE, type_="unique")
        batch.create_unique_constraint(OLD_UNIQUE, ["subscriber_id"])
        batch.drop_column("position")
        batch.drop_column("name")
