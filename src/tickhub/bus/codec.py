"""Bytes on the wire for every message in `tickhub.marketdata.events`.

A body is one JSON object (orjson) with a format version `v` and a `type`:

    {"v": 1, "type": "trade_batch", "exchange": "binance", "symbol": "BTCUSDT",
     "base": "BTC", "quote": "USDT", "simulated": false,
     "trades": [[trade_id, ts, price, qty, is_buyer_maker], ...]}

Trades travel as compact arrays (a third of the size of objects). Floats use the shortest
representation that reads back to the same float64, so a round trip is exact. Decoding checks
every field and raises `CodecError` naming what is wrong; a reader of version 1 ignores
fields it does not know, so fields can be added without a new version.

Pure: no I/O and no broker library, so any transport (or a file) can use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

from tickhub.marketdata.events import (
    CandleUpdate,
    RejectedFrame,
    SourceState,
    SourceStatus,
    Trade,
    TradeBatch,
)

CODEC_VERSION = 1
CONTENT_TYPE = "application/json"

Event = TradeBatch | CandleUpdate | SourceStatus | RejectedFrame


class CodecError(ValueError):
    """A message that cannot be encoded, or a body that is not a message of a known kind."""


def message_type(message: object) -> str:
    """The `type` a message is encoded with (`trade_batch`, `candle_update`, ...)."""
    for cls, name in _TYPES.items():
        if type(message) is cls:
            return name
    raise CodecError(f"cannot encode a {type(message).__name__}: not a tickhub event")


def encode(message: object) -> bytes:
    kind = message_type(message)
    try:
        doc = _ENCODERS[kind](message)
        return orjson.dumps(doc)
    except CodecError:
        raise
    except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
        raise CodecError(f"cannot encode {kind}: {exc}") from exc


def decode(body: bytes | bytearray | memoryview | str) -> Event:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise CodecError(f"body is a JSON {type(doc).__name__}, not an object")
    version = doc.get("v")
    if version != CODEC_VERSION:
        raise CodecError(f"unsupported format version {version!r} (this reader: {CODEC_VERSION})")
    kind = doc.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None or not isinstance(kind, str):
        raise CodecError(f"unknown message type {kind!r}")
    return decoder(_Fields(kind, doc))


# --- encoding -------------------------------------------------------------------------------


def _encode_trades(batch: TradeBatch) -> dict[str, Any]:
    for t in batch.trades:
        if not (math.isfinite(t.price) and math.isfinite(t.qty)):
            raise CodecError(f"trade {t.trade_id}: price and qty must be finite")
    return {
        "v": CODEC_VERSION,
        "type": "trade_batch",
        "exchange": batch.exchange,
        "symbol": batch.symbol,
        "base": batch.base,
        "quote": batch.quote,
        "simulated": batch.simulated,
        "trades": [(t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker) for t in batch.trades],
    }


_CANDLE_FLOATS = ("open", "high", "low", "close", "volume", "quote_volume")


def _encode_candle(c: CandleUpdate) -> dict[str, Any]:
    for name in _CANDLE_FLOATS:
        if not math.isfinite(getattr(c, name)):
            raise CodecError(f"candle_update: {name} must be finite")
    return {
        "v": CODEC_VERSION,
        "type": "candle_update",
        "exchange": c.exchange,
        "symbol": c.symbol,
        "start": c.start,
        **{name: getattr(c, name) for name in _CANDLE_FLOATS},
        "trade_count": c.trade_count,
    }


def _encode_status(s: SourceStatus) -> dict[str, Any]:
    return {
        "v": CODEC_VERSION,
        "type": "source_status",
        "source": s.source,
        "state": s.state.value,
        "detail": s.detail,
        "last_trade_ts": s.last_trade_ts,
        "at": s.at,
    }


def _encode_reject(r: RejectedFrame) -> dict[str, Any]:
    return {
        "v": CODEC_VERSION,
        "type": "rejected_frame",
        "source": r.source,
        "raw": r.raw,
        "error": r.error,
        "received_at": r.received_at,
    }


# --- decoding -------------------------------------------------------------------------------

_MISSING = object()


class _Fields:
    """Typed access to the fields of one decoded body; every failure names the field."""

    def __init__(self, kind: str, doc: dict[str, Any]) -> None:
        self.kind, self.doc = kind, doc

    def error(self, name: str, problem: str) -> CodecError:
        return CodecError(f"{self.kind}: field {name!r}: {problem}")

    def _get(self, name: str, default: object) -> object:
        value = self.doc.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.error(name, "missing")
            return default
        return value

    def text(self, name: str, default: object = _MISSING) -> str:
        value = self._get(name, default)
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {_kind(value)}")
        return value

    def integer(self, name: str, default: object = _MISSING) -> int:
        value = self._get(name, default)
        if type(value) is not int:
            raise self.error(name, f"expected an integer, got {_kind(value)}")
        return value

    def opt_integer(self, name: str) -> int | None:
        value = self._get(name, None)
        if value is not None and type(value) is not int:
            raise self.error(name, f"expected an integer or null, got {_kind(value)}")
        return value

    def number(self, name: str) -> float:
        value = self._get(name, _MISSING)
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise self.error(name, f"expected a number, got {_kind(value)}")

    def flag(self, name: str, default: object = _MISSING) -> bool:
        value = self._get(name, default)
        if type(value) is not bool:
            raise self.error(name, f"expected true or false, got {_kind(value)}")
        return value

    def array(self, name: str) -> list[Any]:
        value = self._get(name, _MISSING)
        if type(value) is not list:
            raise self.error(name, f"expected an array, got {_kind(value)}")
        return value


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _decode_trades(f: _Fields) -> TradeBatch:
    trades: list[Trade] = []
    for n, row in enumerate(f.array("trades")):
        if type(row) is not list or len(row) != 5:
            raise f.error("trades", f"item {n} is not [id, ts, price, qty, is_buyer_maker]")
        trade_id, ts, price, qty, maker = row
        if type(trade_id) is not int or type(ts) is not int:
            raise f.error("trades", f"item {n}: id and ts must be integers")
        if type(price) is not float:
            if type(price) is not int:
                raise f.error("trades", f"item {n}: price must be a number")
            price = float(price)
        if type(qty) is not float:
            if type(qty) is not int:
                raise f.error("trades", f"item {n}: qty must be a number")
            qty = float(qty)
        if maker is not None and type(maker) is not bool:
            raise f.error("trades", f"item {n}: is_buyer_maker must be true, false or null")
        trades.append(Trade(trade_id, ts, price, qty, maker))
    return TradeBatch(
        exchange=f.text("exchange"),
        symbol=f.text("symbol"),
        trades=tuple(trades),
        base=f.text("base", ""),
        quote=f.text("quote", ""),
        simulated=f.flag("simulated", False),
    )


def _decode_candle(f: _Fields) -> CandleUpdate:
    return CandleUpdate(
        exchange=f.text("exchange"),
        symbol=f.text("symbol"),
        start=f.integer("start"),
        open=f.number("open"),
        high=f.number("high"),
        low=f.number("low"),
        close=f.number("close"),
        volume=f.number("volume"),
        quote_volume=f.number("quote_volume"),
        trade_count=f.integer("trade_count"),
    )


def _decode_status(f: _Fields) -> SourceStatus:
    state = f.text("state")
    try:
        source_state = SourceState(state)
    except ValueError:
        raise f.error("state", f"unknown state {state!r}") from None
    return SourceStatus(
        source=f.text("source"),
        state=source_state,
        detail=f.text("detail", ""),
        last_trade_ts=f.opt_integer("last_trade_ts"),
        at=f.integer("at"),
    )


def _decode_reject(f: _Fields) -> RejectedFrame:
    return RejectedFrame(
        source=f.text("source"),
        raw=f.text("raw"),
        error=f.text("error"),
        received_at=f.integer("received_at"),
    )


_TYPES: dict[type, str] = {
    TradeBatch: "trade_batch",
    CandleUpdate: "candle_update",
    SourceStatus: "source_status",
    RejectedFrame: "rejected_frame",
}
_ENCODERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "trade_batch": _encode_trades,
    "candle_update": _encode_candle,
    "source_status": _encode_status,
    "rejected_frame": _encode_reject,
}
_DECODERS: dict[str, Callable[[_Fields], Event]] = {
    "trade_batch": _decode_trades,
    "candle_update": _decode_candle,
    "source_status": _decode_status,
    "rejected_frame": _decode_reject,
}
