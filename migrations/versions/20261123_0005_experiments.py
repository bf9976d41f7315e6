"""Experiments, their variants (layout versions) and exposures.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:50:06.918124
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('experiments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('hypothesis', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('seed', sa.String(length=100), nullable=False),
    sa.Column('hash_version', sa.Integer(), nullable=False),
    sa.Column('coverage', sa.Float(), nullable=False),
    sa.Column('namespace', sa.String(length=100), nullable=True),
    sa.Column('namespace_start', sa.Float(), nullable=True),
    sa.Column('namespace_end', sa.Float(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('started_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_experiments_page_id_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    sa.UniqueConstraint('key', name=op.f('uq_experiments_key'))
    )
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiments_page_id'), ['page_id'], unique=False)

    op.create_table('experiment_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('layout_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_variants_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_variants')),
    sa.UniqueConstraint('experiment_id', 'key', name=op.f('uq_experiment_variants_experiment_id_key')),
    sa.UniqueConstraint('experiment_id', 'position', name=op.f('uq_experiment_variants_experiment_id_position'))
    )
    op.create_table('exposures',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('variant', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_exposures_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'user_id', name=op.f('pk_exposures'))
    )


def downgrade() -> None:
    op.drop_table('exposures')
    op.drop_table('experiment_variants')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiments_page_id'))

    op.drop_table('experiments')
