"""Experiments: audience, planned end, revision (ETag) and phases (re-randomization keeps old exposures);
a partial covering index of orders for experiment results.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('phase', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('ends_at', core.db.UtcDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('exposures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phase', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.drop_constraint('pk_exposures', type_='primary')
        batch_op.create_primary_key('pk_exposures', ['experiment_id', 'phase', 'user_id'])

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_orders', ['user_id', 'occurred_at', 'order_id', 'revenue'], unique=False,
                              postgresql_where=sa.text("type = 'order'"), sqlite_where=sa.text("type = 'order'"))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_orders')

    # Earlier phases' exposures cannot fit the old key; keep the current phase's only.
    op.execute(
        'DELETE FROM exposures WHERE phase <> (SELECT phase FROM experiments WHERE experiments.id = exposures.experiment_id)'
    )
    with op.batch_alter_table('exposures', schema=None) as batch_op:
        batch_op.drop_constraint('pk_exposures', type_='primary')
        batch_op.create_primary_key('pk_exposures', ['experiment_id', 'user_id'])
        batch_op.drop_column('phase')

    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_column('ends_at')
        batch_op.drop_column('phase')
        batch_op.drop_column('revision')
        batch_op.drop_column('audience')
