"""trades: the time index carries the trade id and the price (a covering index)

The windows of prices that seed 004's statistics and listings read (`SELECT trade_id,
ts, price … WHERE instrument_id = ? AND ts BETWEEN … ORDER BY ts, trade_id`) are answered
from the index alone: (instrument_id, ts) sent SQLite to the table for every row's price
(a day of one symbol: 86,400 lookups, 103 ms against 47 ms from the covering index), and
PostgreSQL to the heap and a sort on trade_id within a time. The index replaces the old
one, so a write still updates one index beside the key.

On PostgreSQL the index is made on the partitioned parent, so every partition, present and
future, gets it.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_trades_instrument_ts", table_name="trades")
    op.create_index(
        "ix_trades_instrument_ts_price", "trades", ["instrument_id", "ts", "trade_id", "price"]
    )


def downgrade() -> None:
    op.drop_index("ix_trades_instrument_ts_price", table_name="trades")
    op.create_index("ix_trades_instrument_ts", "trades", ["instrument_id", "ts"])
