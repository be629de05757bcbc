"""outbox, sent papers, subscriber delivery settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _subscriber_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("send_hour", sa.Integer(), nullable=False, server_default="7"),
        sa.Column("frequency", sa.String(length=8), nullable=False, server_default="daily"),
        sa.Column("send_weekday", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("suppressed_reason", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        for column in _subscriber_columns():
            batch.add_column(column)
        batch.add_column(sa.Column("token_key", sa.String(length=32), nullable=True))
    # Existing subscribers each get their own key; a shared default would let one
    # subscriber's link be replayed against another id.
    subscribers = sa.table("subscribers", sa.column("id"), sa.column("token_key"))
    connection = op.get_bind()
    for (subscriber_id,) in connection.execute(sa.select(subscribers.c.id)).all():
        connection.execute(
            subscribers.update()
            .where(subscribers.c.id == subscriber_id)
            .values(token_key=secrets.token_hex(8))
        )
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("token_key", existing_type=sa.String(length=32), nullable=False)
    with op.batch_alter_table("interest_profiles") as batch:
        batch.add_column(
            sa.Column("disliked_papers", sa.JSON(), nullable=False, server_default="[]")
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("digest_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("last_reply", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
        sa.UniqueConstraint("subscriber_id", "digest_date", name="uq_outbox_subscriber_day"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "sent_papers",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=64), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subscriber_id", "paper_id"),
    )
    op.create_index("ix_sent_papers_outbox_id", "sent_papers", ["outbox_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sent_papers_outbox_id", table_name="sent_papers")
    op.drop_table("sent_papers")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("interest_profiles") as batch:
        batch.drop_column("disliked_papers")
    with op.batch_alter_table("subscribers") as batch:
        for name in ("token_key", *(c.name for c in _subscriber_columns())):
            batch.drop_column(name)
