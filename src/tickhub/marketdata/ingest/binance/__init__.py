"""Binance spot: combined trade streams, gap backfill over REST by trade id."""

from tickhub.marketdata.ingest.binance.source import BinanceSource

__all__ = ["BinanceSource"]
