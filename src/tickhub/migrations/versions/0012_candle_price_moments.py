"""candles: the sum of the prices and their M2, for statistics from the rollups

Revision ID: 0012
Revises: 0007

Existing rollups are filled from the stored trades of their bucket, scaled to the
candle's trade count where trades were sampled away (`TICKHUB_CAPTURE_INTERVAL`): the
mean and deviation of the kept trades stand for those of the bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = (
    "UPDATE candles SET "
    "price_sum = trade_count * COALESCE((SELECT avg(t.price) FROM trades t "
    "WHERE t.instrument_id = candles.instrument_id AND t.ts >= candles.start "
    "AND t.ts < candles.start + candles.resolution * 1000000), close), "
    "price_m2 = trade_count * COALESCE((SELECT avg(t.price * t.price) - avg(t.price) * "
    "avg(t.price) FROM trades t WHERE t.instrument_id = candles.instrument_id "
    "AND t.ts >= candles.start AND t.ts < candles.start + candles.resolution * 1000000), 0)"
)


def upgrade() -> None:
    with op.batch_alter_table("candles") as batch:
        batch.add_column(
            sa.Column("price_sum", sa.Float(precision=53), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("price_m2", sa.Float(precision=53), server_default="0", nullable=False)
        )
    op.execute(_BACKFILL)
    op.execute("UPDATE candles SET price_m2 = 0 WHERE price_m2 < 0")


def downgrade() -> None:
    with op.batch_alter_table("candles") as batch:
        batch.drop_column("price_m2")
        batch.drop_column("price_sum")
