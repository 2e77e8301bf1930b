"""market: the notification types an admin adds (seed 003's notification_type paths)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_notification_types",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_notification_types")),
        sa.UniqueConstraint("name", name=op.f("uq_market_notification_types_name")),
    )


def downgrade() -> None:
    op.drop_table("market_notification_types")
