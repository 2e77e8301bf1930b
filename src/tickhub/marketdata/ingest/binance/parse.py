"""Parsing Binance spot messages: WebSocket frames, REST trades, symbol names. Pure.

Amounts arrive as decimal strings and become float64 (see `events`); times arrive in
milliseconds and become microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest import normalize
from tickhub.marketdata.ingest.engine import (
    FrameError,
    Notice,
    ParsedTrade,
    field_amount,
    field_bool,
    field_int,
)
from tickhub.marketdata.ingest.normalize import QUOTE_ASSETS

__all__ = [
    "KNOWN_QUOTES",
    "FrameError",
    "Notice",
    "ParsedTrade",
    "parse_frame",
    "parse_rest_trade",
    "split_symbol",
]

KNOWN_QUOTES: Final = QUOTE_ASSETS

_field_int = field_int
_field_amount = field_amount
_field_bool = field_bool


def split_symbol(symbol: str) -> tuple[str, str] | None:
    """`BTCUSDT` -> (`BTC`, `USDT`) by the longest known quote suffix; None if none fits."""
    base, quote = normalize.split_symbol(symbol)
    return (base, quote) if quote else None


def parse_frame(raw: str | bytes) -> ParsedTrade | Notice | None:
    """One WebSocket message: a trade, a notice, or None for a valid message that is neither.

    Raises FrameError when the message is not valid JSON or a trade is garbled.
    """
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"invalid JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise FrameError(f"expected a JSON object, got {type(msg).__name__}")
    if "stream" in msg or "data" in msg:
        stream, data = msg.get("stream"), msg.get("data")
        if not isinstance(stream, str) or not isinstance(data, dict):
            raise FrameError("combined-stream frame needs a 'stream' string and a 'data' object")
        event = data.get("e")
        if event == "trade":
            parsed = _trade_event(data)
            if parsed.symbol.lower() != stream.partition("@")[0]:
                raise FrameError(f"symbol {parsed.symbol!r} does not match stream {stream!r}")
            return parsed
        if event == Notice.SERVER_SHUTDOWN.value:
            return Notice.SERVER_SHUTDOWN
        if not isinstance(event, str):
            raise FrameError("'data' has no event type 'e'")
        return None  # another event type: not ours to parse
    event = msg.get("e")
    if isinstance(msg.get("event"), dict):
        event = msg["event"].get("e")
    if event == Notice.SERVER_SHUTDOWN.value:
        return Notice.SERVER_SHUTDOWN
    if event == "trade":  # a raw (not combined) trade event
        return _trade_event(msg)
    if "id" in msg and ("result" in msg or "error" in msg):
        return None  # reply to a SUBSCRIBE/LIST_SUBSCRIPTIONS request
    raise FrameError("unrecognised message: neither a stream event nor a request reply")


def parse_rest_trade(item: object) -> Trade:
    """One item of `GET /api/v3/historicalTrades`."""
    if not isinstance(item, dict):
        raise FrameError(f"expected a JSON object, got {type(item).__name__}")
    return Trade(
        trade_id=_field_int(item, "id"),
        ts=_field_int(item, "time") * 1000,
        price=_field_amount(item, "price"),
        qty=_field_amount(item, "qty"),
        is_buyer_maker=_field_bool(item, "isBuyerMaker"),
    )


def _trade_event(data: Mapping[str, object]) -> ParsedTrade:
    symbol = data.get("s")
    if not isinstance(symbol, str) or not symbol.isalnum():
        raise FrameError("field 's' (symbol) missing or not a symbol")
    trade = Trade(
        trade_id=_field_int(data, "t"),
        ts=_field_int(data, "T") * 1000,  # ms -> µs
        price=_field_amount(data, "p"),
        qty=_field_amount(data, "q"),
        is_buyer_maker=_field_bool(data, "m"),
    )
    return ParsedTrade(symbol.upper(), trade)
