"""One Binance WebSocket connection and the task reading it: the engine's link."""

from tickhub.marketdata.ingest.engine import CONNECT_ERRORS, KEEPALIVE_S, StreamLink, open_stream

__all__ = ["CONNECT_ERRORS", "KEEPALIVE_S", "StreamLink", "open_stream"]
