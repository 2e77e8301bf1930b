"""CoinMarketCap history tables (migration 0007).

One row per coin per fetched minute, and one global-metrics row per fetched minute; the
keys make a replayed message change nothing. Times are integer microseconds since the
Unix epoch (UTC), amounts float64, as in `models.py`. `minute` is the boundary the call
was made for; `last_updated` is CoinMarketCap's own time of the quote.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tickhub.db import Base


class CmcListingRow(Base):
    __tablename__ = "cmc_listings"
    __table_args__ = (
        Index("ix_cmc_listings_minute", "minute"),
        Index("ix_cmc_listings_symbol", "symbol", "minute"),
    )

    cmc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    convert: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))
    rank: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[float | None] = mapped_column(Float(53))
    volume_24h: Mapped[float | None] = mapped_column(Float(53))
    market_cap: Mapped[float | None] = mapped_column(Float(53))
    percent_change_1h: Mapped[float | None] = mapped_column(Float(53))
    percent_change_24h: Mapped[float | None] = mapped_column(Float(53))
    percent_change_7d: Mapped[float | None] = mapped_column(Float(53))
    circulating_supply: Mapped[float | None] = mapped_column(Float(53))
    total_supply: Mapped[float | None] = mapped_column(Float(53))
    max_supply: Mapped[float | None] = mapped_column(Float(53))
    last_updated: Mapped[int] = mapped_column(BigInteger)


class CmcGlobalMetricsRow(Base):
    __tablename__ = "cmc_global_metrics"

    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    convert: Mapped[str] = mapped_column(String(16))
    active_cryptocurrencies: Mapped[int] = mapped_column(Integer)
    btc_dominance: Mapped[float] = mapped_column(Float(53))
    eth_dominance: Mapped[float] = mapped_column(Float(53))
    total_market_cap: Mapped[float | None] = mapped_column(Float(53))
    total_volume_24h: Mapped[float | None] = mapped_column(Float(53))
    last_updated: Mapped[int] = mapped_column(BigInteger)
