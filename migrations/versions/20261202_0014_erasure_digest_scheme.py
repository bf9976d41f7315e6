"""Erased shoppers' digests say their scheme: `sha256` (every row so far), or `hmac-sha256` (keyed).

Rows stored so far are plain SHA-256 digests of shopper ids, which anyone can reverse by guessing
ids. They cannot be re-keyed here (the key is the app's setting, not the migration's), so they are
marked `sha256` and the app re-keys them at its next start (`shoppers.service.rekey_legacy_erasures`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("erased_shoppers") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=16), server_default="sha256", nullable=False))
    with op.batch_alter_table("erased_shoppers") as batch:  # new rows always say their scheme
        batch.alter_column("scheme", server_default=None)


def downgrade() -> None:
    # Keyed digests mean nothing to the older code: it would look up plain SHA-256 digests and miss
    # them. Downgrading forgets that those shoppers were erased (their data is deleted already).
    op.execute("DELETE FROM erased_shoppers WHERE scheme <> 'sha256'")
    with op.batch_alter_table("erased_shoppers") as batch:
        batch.drop_column("scheme")
