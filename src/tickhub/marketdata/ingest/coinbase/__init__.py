"""Coinbase Exchange: the public `matches`/`heartbeat` feed, gap backfill over REST by trade id."""

from tickhub.marketdata.ingest.coinbase.source import CAPABILITIES, CoinbaseSource, CoinbaseVenue

__all__ = ["CAPABILITIES", "CoinbaseSource", "CoinbaseVenue"]
