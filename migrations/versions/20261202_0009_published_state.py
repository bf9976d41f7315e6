"""The published state's version: one row every storefront worker checks its snapshot against.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "published_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_state")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1, "changed_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("published_state")
