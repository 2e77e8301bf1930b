"""Venues through ccxt: `watch_trades` or `fetch_trades` polling, unified markets."""

from tickhub.marketdata.ingest.ccxt.source import CcxtSource, capabilities, make_exchange

__all__ = ["CcxtSource", "capabilities", "make_exchange"]
