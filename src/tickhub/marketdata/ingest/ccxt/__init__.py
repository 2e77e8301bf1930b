"""Venues through ccxt: `watch_trades` or `fetch_trades` polling, unified markets."""

from tickhub.marketdata.ingest.ccxt.source import CcxtSource, make_exchange

__all__ = ["CcxtSource", "make_exchange"]
