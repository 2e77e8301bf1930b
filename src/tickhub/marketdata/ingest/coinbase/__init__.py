"""Coinbase Exchange: the public `matches`/`heartbeat` feed, gap backfill over REST by trade id."""

from tickhub.marketdata.ingest.coinbase.source import CoinbaseSource, CoinbaseVenue

__all__ = ["CoinbaseSource", "CoinbaseVenue"]
