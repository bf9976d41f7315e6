"""Drafts: editors' work in progress, one per page and editor session.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:20:40.689824
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('editor_key', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('base_number', sa.Integer(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_drafts_page_id_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts')),
    sa.UniqueConstraint('page_id', 'editor_key', name=op.f('uq_drafts_page_id_editor_key'))
    )


def downgrade() -> None:
    op.drop_table('drafts')
