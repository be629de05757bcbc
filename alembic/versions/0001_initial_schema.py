"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('papers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=False),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('primary_category', sa.String(length=32), nullable=True),
    sa.Column('announce_type', sa.String(length=16), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('announced_on', sa.Date(), nullable=True),
    sa.Column('abs_url', sa.String(length=512), nullable=True),
    sa.Column('pdf_url', sa.String(length=512), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('doi', sa.String(length=256), nullable=True),
    sa.Column('journal_ref', sa.Text(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('hf_upvotes', sa.Integer(), nullable=True),
    sa.Column('hf_ai_summary', sa.Text(), nullable=True),
    sa.Column('hf_ai_keywords', sa.JSON(), nullable=True),
    sa.Column('hf_github_repo', sa.String(length=512), nullable=True),
    sa.Column('hf_github_stars', sa.Integer(), nullable=True),
    sa.Column('hf_project_page', sa.String(length=512), nullable=True),
    sa.Column('hf_daily_date', sa.Date(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_papers_announced_on'), 'papers', ['announced_on'], unique=False)
    op.create_index('ix_papers_first_seen_at', 'papers', ['first_seen_at'], unique=False)
    op.create_index(op.f('ix_papers_hf_daily_date'), 'papers', ['hf_daily_date'], unique=False)
    op.create_table('subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_index(op.f('ix_subscribers_status'), 'subscribers', ['status'], unique=False)
    op.create_table('interest_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('negative_keywords', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('category_mode', sa.String(length=8), nullable=False),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.Column('seed_papers', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscriber_id')
    )


def downgrade() -> None:
    op.drop_table('interest_profiles')
    op.drop_index(op.f('ix_subscribers_status'), table_name='subscribers')
    op.drop_table('subscribers')
    op.drop_index(op.f('ix_papers_hf_daily_date'), table_name='papers')
    op.drop_index('ix_papers_first_seen_at', table_name='papers')
    op.drop_index(op.f('ix_papers_announced_on'), table_name='papers')
    op.drop_table('papers')
