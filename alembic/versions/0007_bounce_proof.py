"""bounce reports must prove they are about our mail: how each was verified, one-off mail
sent (its Message-ID and recipient), and when an address was suppressed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sent_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_sent_mail_recipient", "sent_mail", ["recipient"], unique=False)
    with op.batch_alter_table("bounce_events") as batch:
        batch.add_column(sa.Column("verified_by", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("sent_message_id", sa.String(length=255), nullable=True))
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("suppressed_at", sa.DateTime(timezone=True), nullable=True))
    # Addresses already bounced count from the upgrade: when they bounced was not kept, and
    # some may be the forged reports this revision stops, which an admin can undo sooner.
    subscribers = sa.table(
        "subscribers",
        sa.column("status", sa.String()),
        sa.column("suppressed_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        subscribers.update()
        .where(subscribers.c.status == "bounced")
        .values(suppressed_at=datetime.now(UTC))
    )


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("suppressed_at")
    with op.batch_alter_table("bounce_events") as batch:
        batch.drop_column("sent_message_id")
        batch.drop_column("verified_by")
    op.drop_index("ix_sent_mail_recipient", table_name="sent_mail")
    op.drop_table("sent_mail")
