"""Audiences (named rules), occasion campaigns, shopper profiles, opt-outs and erasures.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:25:01.744319
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audiences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audiences")),
        sa.UniqueConstraint("key", name=op.f("uq_audiences_key")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("occasion", sa.String(length=50), nullable=False),
        sa.Column("marketplaces", sa.JSON(), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("starts_local", sa.String(length=19), nullable=False),
        sa.Column("ends_local", sa.String(length=19), nullable=False),
        sa.Column("starts_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("key", name=op.f("uq_campaigns_key")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_campaigns_window", ["ends_at", "starts_at"], unique=False)

    op.create_table(
        "erased_shoppers",
        sa.Column("user_digest", sa.String(length=64), nullable=False),
        sa.Column("erased_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_digest", name=op.f("pk_erased_shoppers")),
    )
    op.create_table(
        "shopper_opt_outs",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("opted_out_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_shopper_opt_outs")),
    )
    op.create_table(
        "shopper_profiles",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("first_seen_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("page_views", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("first_order_at", core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reengaged_at", core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("occasions", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("purchased_items", sa.JSON(), nullable=False),
        sa.Column("recent_orders", sa.JSON(), nullable=False),
        sa.Column("updated_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_shopper_profiles")),
    )


def downgrade() -> None:
    op.drop_table("shopper_profiles")
    op.drop_table("shopper_opt_outs")
    op.drop_table("erased_shoppers")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_window")

    op.drop_table("campaigns")
    op.drop_table("audiences")
