"""Token scopes split: `storefront` (resolve) and `privacy` (erasure) beside `events`.

A token that could post events is the storefront's token; it may now resolve pages too (so a
storefront keeps working when resolve requires a token). Erasure needs the new `privacy` scope,
which no existing token is given: the storefront's events token could erase any shopper.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 21:20:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tokens = sa.table("api_tokens", sa.column("id", sa.Integer), sa.column("scopes", sa.String))


def _rewrite(change: Callable[[set[str]], set[str]]) -> None:
    connection = op.get_bind()
    for token_id, scopes in connection.execute(sa.select(tokens.c.id, tokens.c.scopes)).all():
        new = ",".join(sorted(change(set(scopes.split(",")))))
        if new != scopes:
            connection.execute(tokens.update().where(tokens.c.id == token_id).values(scopes=new))


def upgrade() -> None:
    _rewrite(lambda scopes: scopes | {"storefront"} if "events" in scopes else scopes)


def downgrade() -> None:
    _rewrite(lambda scopes: (scopes - {"storefront", "privacy"}) or {"events"})
