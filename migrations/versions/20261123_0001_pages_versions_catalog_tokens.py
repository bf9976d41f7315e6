"""Pages, immutable layout versions, the catalog, shopper history and API tokens.

The pages <-> layout_versions foreign keys are circular, so the published-version
key is added after both tables exist (batch mode, so SQLite can do it too).

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 18:09:50.201050
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('catalog_items',
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('occasions', sa.JSON(), nullable=False),
    sa.Column('price', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('image_url', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_catalog_items'))
    )
    op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('marketplace', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('published_version_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('slug', 'marketplace', name=op.f('uq_pages_slug_marketplace'))
    )
    op.create_table('shopper_interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopper_interactions'))
    )
    with op.batch_alter_table('shopper_interactions', schema=None) as batch_op:
        batch_op.create_index('ix_shopper_interactions_user_event', ['user_id', 'event'], unique=False)

    op.create_table('layout_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('parent_number', sa.Integer(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_layout_versions_page_id_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layout_versions')),
    sa.UniqueConstraint('page_id', 'number', name=op.f('uq_layout_versions_page_id_number'))
    )
    with op.batch_alter_table('layout_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_layout_versions_page_id'), ['page_id'], unique=False)
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_pages_published_version_id_layout_versions', 'layout_versions',
                                    ['published_version_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_constraint('fk_pages_published_version_id_layout_versions', type_='foreignkey')
    with op.batch_alter_table('layout_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_layout_versions_page_id'))

    op.drop_table('layout_versions')
    with op.batch_alter_table('shopper_interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_shopper_interactions_user_event')

    op.drop_table('shopper_interactions')
    op.drop_table('pages')
    op.drop_table('catalog_items')
    op.drop_table('api_tokens')
