"""strategies: paper trading (a session booked on each alert, and the order)

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tickhub.db import ExactDecimal

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.add_column(sa.Column("paper_session_id", BigId, nullable=True))
        batch.add_column(sa.Column("paper_side", sa.String(8), nullable=True))
        batch.add_column(sa.Column("paper_amount", ExactDecimal(), nullable=True))
        batch.create_foreign_key(
            "fk_strategies_paper_session_id_sessions",
            "sessions",
            ["paper_session_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_strategies_paper_session_id", ["paper_session_id"])


def downgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.drop_index("ix_strategies_paper_session_id")
        batch.drop_constraint("fk_strategies_paper_session_id_sessions", type_="foreignkey")
        batch.drop_column("paper_amount")
        batch.drop_column("paper_side")
        batch.drop_column("paper_session_id")
