"""Market-data tables.

Times are integer microseconds since the Unix epoch (UTC); prices and sizes are float64
(see `events.py`). Trades and candles are clustered on their keys (SQLite WITHOUT ROWID),
so a range of one instrument is one contiguous read.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tickhub.db import Base


class Exchange(Base):
    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    country: Mapped[str | None] = mapped_column(String(64), default=None)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class Asset(Base):
    """A coin (seed 001 `symbols`): `BTC` is `bitcoin`."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))


class Instrument(Base):
    """A market on one exchange, under the exchange's own symbol (`BTCUSDT`)."""

    __tablename__ = "instruments"
    __table_args__ = (UniqueConstraint("exchange_id", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(64))
    base: Mapped[str] = mapped_column(String(32))
    quote: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)


class TradeRow(Base):
    """One trade, unique on (instrument, venue trade id).

    On PostgreSQL the table is partitioned by `ts` (migration 0003), so its key there is
    (instrument_id, trade_id, ts); the writer's coverage check is what keeps an id unique.
    """

    __tablename__ = "trades"
    __table_args__ = (
        # Covering: a window's (trade id, ts, price) in order from the index alone (0015).
        Index("ix_trades_instrument_ts_price", "instrument_id", "ts", "trade_id", "price"),
        {"sqlite_with_rowid": False},
    )

    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True
    )
    trade_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[float] = mapped_column(Float(53))
    qty: Mapped[float] = mapped_column(Float(53))
    is_buyer_maker: Mapped[bool | None] = mapped_column(Boolean, default=None)


class CandleRow(Base):
    """A rollup at a fixed resolution (60 s, 3600 s, 86400 s), kept current by the writer.

    `open_ts/open_id` and `close_ts/close_id` name the trades that set open and close, so
    a late (backfilled) trade can take their place when it comes earlier or later.
    """

    __tablename__ = "candles"
    __table_args__ = ({"sqlite_with_rowid": False},)

    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True
    )
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    open: Mapped[float] = mapped_column(Float(53))
    high: Mapped[float] = mapped_column(Float(53))
    low: Mapped[float] = mapped_column(Float(53))
    close: Mapped[float] = mapped_column(Float(53))
    volume: Mapped[float] = mapped_column(Float(53))
    quote_volume: Mapped[float] = mapped_column(Float(53))
    trade_count: Mapped[int] = mapped_column(BigInteger)
    open_ts: Mapped[int] = mapped_column(BigInteger)
    open_id: Mapped[int] = mapped_column(BigInteger)
    close_ts: Mapped[int] = mapped_column(BigInteger)
    close_id: Mapped[int] = mapped_column(BigInteger)
    # Sum of the prices and their M2 (sum of squared deviations from the mean): the mean
    # and standard deviation of any window, from the rollups (migration 0012).
    price_sum: Mapped[float] = mapped_column(Float(53), server_default="0")
    price_m2: Mapped[float] = mapped_column(Float(53), server_default="0")


class LatestPrice(Base):
    __tablename__ = "latest_prices"

    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True
    )
    trade_id: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[float] = mapped_column(Float(53))
    qty: Mapped[float] = mapped_column(Float(53))


class CoverageRange(Base):
    """A run of consecutive venue trade ids that has been processed (stored or sampled).

    Holes between two ranges of an instrument are its open gaps.
    """

    __tablename__ = "coverage"
    __table_args__ = (Index("ix_coverage_instrument_first", "instrument_id", "first_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"))
    first_id: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)


class RejectedFrameRow(Base):
    """A venue message that failed to parse, kept for inspection."""

    __tablename__ = "rejected_frames"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[int] = mapped_column(BigInteger)
