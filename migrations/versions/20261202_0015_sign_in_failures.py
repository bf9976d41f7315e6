"""Failed sign-ins counted in the database (core.throttle): shared by every worker, with or without Redis.

Rows are keyed by an HMAC of account and address (or address alone) under the secret key, so the
table never holds who tried from where; the application deletes rows untouched for a day.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("audit_since", core.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_last_at", "sign_in_failures", ["last_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_last_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
