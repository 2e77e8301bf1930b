"""Parsing Coinbase Exchange messages: the WebSocket feed and REST trades. Pure.

`match` and `last_match` (the product's latest trade, sent on subscribing) carry a
trade; `heartbeat` carries the product's `last_trade_id`; `subscriptions` answers a
subscribe; other types are ignored; `error` and anything that is not a typed JSON object
is malformed. Trade ids are consecutive per product.

Coinbase's `side` is the MAKER's side (a `buy` is a resting buy order filled by a
selling taker: a down-tick). tickhub stores the taker's side as Binance does, through
`is_buyer_maker`: side `buy` -> the buyer was the maker -> `is_buyer_maker=True` (taker
sold); side `sell` -> `is_buyer_maker=False` (taker bought).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.engine import (
    FrameError,
    Heartbeat,
    Parsed,
    ParsedTrade,
    field_amount,
    field_int,
    field_str,
)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
TRADE_TYPES: Final = frozenset({"match", "last_match"})


def parse_frame(raw: str | bytes) -> Parsed:
    """One feed message: a trade, a heartbeat, or None for a valid message of no interest."""
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"invalid JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise FrameError(f"expected a JSON object, got {type(msg).__name__}")
    kind = msg.get("type")
    if not isinstance(kind, str):
        raise FrameError("message has no 'type'")
    if kind in TRADE_TYPES:
        return ParsedTrade(product_id(msg), _trade(msg))
    if kind == "heartbeat":
        return Heartbeat(product_id(msg), field_int(msg, "last_trade_id"))
    if kind == "error":
        raise FrameError(f"venue error: {msg.get('message')!r} ({msg.get('reason')!r})")
    return None  # subscriptions, and types we did not ask for


def parse_rest_trade(item: object) -> Trade:
    """One item of `GET /products/{id}/trades`."""
    if not isinstance(item, dict):
        raise FrameError(f"expected a JSON object, got {type(item).__name__}")
    return _trade(item)


def product_id(msg: Mapping[str, object]) -> str:
    value = field_str(msg, "product_id")
    if "-" not in value:
        raise FrameError(f"field 'product_id' is not a product: {value!r}")
    return value.upper()


def parse_time(value: object) -> int:
    """`2014-11-07T08:19:27.028459Z` -> microseconds since the epoch."""
    if not isinstance(value, str):
        raise FrameError(f"field 'time' missing or not a string: {value!r}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise FrameError(f"field 'time' is not an ISO-8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise FrameError(f"field 'time' has no time zone: {value!r}")
    return (when - _EPOCH) // _MICROSECOND


def _trade(msg: Mapping[str, object]) -> Trade:
    side = msg.get("side")
    if side not in ("buy", "sell"):
        raise FrameError(f"field 'side' missing or not buy/sell: {side!r}")
    return Trade(
        trade_id=field_int(msg, "trade_id"),
        ts=parse_time(msg.get("time")),
        price=field_amount(msg, "price"),
        qty=field_amount(msg, "size"),
        is_buyer_maker=side == "buy",  # the maker's side: see the module's docstring
    )
