"""partition trades by time (PostgreSQL)

On PostgreSQL `trades` becomes a table PARTITIONED BY RANGE (ts) (bigint microseconds,
UTC) with a DEFAULT partition, so no row is ever refused: a trade whose period has no
partition yet lands in the default one, and `tickhub.marketdata.store.partitions` later moves it
into the partition it creates for that period. Named partitions are half-open ranges
[start, end) whose bounds follow each other exactly, so there is no hole between two of
them either (seed 004's hand-made weekly partitions ended at 23:59:59 and lost the last
second of every week).

Steps:
1. The old table steps aside as `trades_unpartitioned` (its key and index renamed, since
   index names are unique per schema).
2. The partitioned `trades`: same columns, foreign key to instruments (ON DELETE CASCADE),
   primary key (instrument_id, trade_id, ts), the (instrument_id, ts) index for the range
   queries on the parent (so every partition gets it), and `trades_default`.
3. One weekly partition (Monday 00:00 UTC to the next Monday, the default
   TICKHUB_PARTITION_INTERVAL) per week that holds existing rows.
4. The rows move (one INSERT … SELECT, in this migration's transaction), the old table is
   dropped, statistics are refreshed.

Why the key holds `ts`: PostgreSQL allows a unique key on a partitioned table only if it
contains the partition column. Idempotency does not rest on the key: the writer locks the
instrument row and sets aside every trade id its coverage ranges already hold, so a
replayed or duplicated trade never reaches the INSERT. The key is the second guard, and it
still catches an exact replay, which carries the same ts.

SQLite has no partitions: there this migration does nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:05:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_US = 86_400 * 1_000_000
WEEK_US = 7 * DAY_US


def _trades_table(name: str, key: Sequence[str], **kw: Any) -> None:
    op.create_table(
        name,
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.Float(precision=53), nullable=False),
        sa.Column("qty", sa.Float(precision=53), nullable=False),
        sa.Column("is_buyer_maker", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_trades_instrument_id_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_trades")),
        **kw,
    )
    op.create_index("ix_trades_instrument_ts", "trades", ["instrument_id", "ts"], unique=False)


def _set_aside(new_name: str) -> None:
    op.execute(f"ALTER TABLE trades RENAME TO {new_name}")
    op.execute(f"ALTER TABLE {new_name} RENAME CONSTRAINT pk_trades TO pk_{new_name}")
    op.execute(f"ALTER INDEX ix_trades_instrument_ts RENAME TO ix_{new_name}_instrument_ts")


def _week_start(ts: int) -> int:
    day = ts // DAY_US
    return (day - (day + 3) % 7) * DAY_US  # 1970-01-01 was a Thursday


def _name(start: int) -> str:
    d = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=start)
    return f"trades_p{d:%Y%m%d}"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_aside("trades_unpartitioned")
    _trades_table(
        "trades", ("instrument_id", "trade_id", "ts"), postgresql_partition_by="RANGE (ts)"
    )
    op.execute("CREATE TABLE trades_default PARTITION OF trades DEFAULT")
    days = bind.execute(
        sa.text("SELECT DISTINCT ts - ((ts % :d) + :d) % :d FROM trades_unpartitioned").bindparams(
            d=DAY_US
        )
    ).scalars()
    for start in sorted({_week_start(int(d)) for d in days}):
        op.execute(
            f"CREATE TABLE {_name(start)} PARTITION OF trades "
            f"FOR VALUES FROM ({start}) TO ({start + WEEK_US})"
        )
    op.execute(
        "INSERT INTO trades (instrument_id, trade_id, ts, price, qty, is_buyer_maker) "
        "SELECT instrument_id, trade_id, ts, price, qty, is_buyer_maker FROM trades_unpartitioned"
    )
    op.execute("DROP TABLE trades_unpartitioned")
    op.execute("ANALYZE trades")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_aside("trades_partitioned")
    _trades_table("trades", ("instrument_id", "trade_id"))
    # The partitioned key let the same trade id exist under two times; the writer never
    # stores that, and if it is there anyway the earliest one is kept.
    op.execute(
        "INSERT INTO trades (instrument_id, trade_id, ts, price, qty, is_buyer_maker) "
        "SELECT instrument_id, trade_id, ts, price, qty, is_buyer_maker FROM trades_partitioned "
        "ORDER BY instrument_id, trade_id, ts ON CONFLICT DO NOTHING"
    )
    op.execute("DROP TABLE trades_partitioned")  # with its partitions
