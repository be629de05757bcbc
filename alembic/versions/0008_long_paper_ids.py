"""papers: ids up to 255 characters (DOIs, Semantic Scholar ids and URLs from files)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, old length, new length); an embedding key is "<paper id>:<16 hex>".
WIDENED = (
    ("papers", "id", 64, 255),
    ("sent_papers", "paper_id", 64, 255),
    ("paper_embeddings", "key", 100, 300),
)


def upgrade() -> None:
    for table, column, old, new in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                existing_nullable=False,
            )  # fmt: skip


def downgrade() -> None:
    # Rows with longer ids would not fit: PostgreSQL refuses the downgrade rather than cut them.
    for table, column, old, new in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, existing_type=sa.String(length=new), type_=sa.String(length=old),
                existing_nullable=False,
            )  # fmt: skip
