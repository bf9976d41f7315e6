"""Stored order revenue within the ceiling every analysis counts (core.input_rules.REVENUE_CEILING).

Before the input rules bounded an order's revenue, one order of 1e200 made the results 500
(an overflowing square) and a profile's revenue Infinity (not JSON). Such rows are capped here;
nothing within the ceiling changes. Downgrade keeps the capped values (the originals were unusable).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CEILING = 10**12  # core.input_rules.REVENUE_CEILING when this was written


def upgrade() -> None:
    for table in ("events", "shopper_profiles"):
        op.execute(sa.text(f"UPDATE {table} SET revenue = :ceiling WHERE revenue > :ceiling").bindparams(
            ceiling=float(CEILING)))  # fmt: skip


def downgrade() -> None:
    pass
