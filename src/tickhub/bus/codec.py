"""Bytes on the wire for every message in `tickhub.marketdata.events` and `tickhub.alerts.events`.

A body is one JSON object (orjson) with a format version `v` and a `type`:

    {"v": 1, "type": "trade_batch", "exchange": "binance", "symbol": "BTCUSDT",
     "base": "BTC", "quote": "USDT", "simulated": false,
     "trades": [[trade_id, ts, price, qty, is_buyer_maker], ...]}

Each message is one entry of a table: its fields travel in the dataclass's order (a
batch's trades last), each coded by its annotation (`str`, `int`, `float`, `bool`, `X |
None`) unless the entry says otherwise. Trades travel as compact arrays (a third of the
size of objects). Floats use the shortest representation that reads back to the same
float64, so a round trip is exact; NaN and infinities are refused at encode. Decoding
checks every field and raises `CodecError` naming what is wrong; a field with a plain
default may be missing; a reader of version 1 ignores fields it does not know, so fields
can be added without a new version.

Pure: no I/O and no broker library, so any transport (or a file) can use it.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Any, cast

import orjson

from tickhub.alerts.events import AlertRaised
from tickhub.marketdata.events import (
    CandleUpdate,
    CmcGlobalMetrics,
    CmcListing,
    CmcListings,
    CmcStored,
    RejectedFrame,
    SourceState,
    SourceStatus,
    Trade,
    TradeBatch,
)

CODEC_VERSION = 1
CONTENT_TYPE = "application/json"

Event = (
    TradeBatch
    | CandleUpdate
    | SourceStatus
    | RejectedFrame
    | CmcListings
    | CmcGlobalMetrics
    | CmcStored
    | AlertRaised
)


class CodecError(ValueError):
    """A message that cannot be encoded, or a body that is not a message of a known kind."""


def message_type(message: object) -> str:
    """The `type` a message is encoded with (`trade_batch`, `candle_update`, ...)."""
    return _spec_of(message).type


def encode(message: object) -> bytes:
    spec = _spec_of(message)
    try:
        doc = {"v": CODEC_VERSION, "type": spec.type, **spec.write(message, spec.type)}
        return orjson.dumps(doc)
    except CodecError:
        raise
    except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
        raise CodecError(f"cannot encode {spec.type}: {exc}") from exc


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
    spec = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if spec is None or not isinstance(kind, str):
        raise CodecError(f"unknown message type {kind!r}")
    return cast(Event, spec.read(_Fields(kind, doc)))


def _spec_of(message: object) -> _Message:
    spec = _BY_CLASS.get(type(message))
    if spec is None:
        raise CodecError(f"cannot encode a {type(message).__name__}: not a tickhub event")
    return spec


# --- reading fields -------------------------------------------------------------------------

_MISSING: Any = object()


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

    def text(self, name: str) -> str:
        value = self._get(name, _MISSING)
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {_kind(value)}")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name, _MISSING)
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

    def opt_number(self, name: str) -> float | None:
        value = self._get(name, None)
        if value is None or type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise self.error(name, f"expected a number or null, got {_kind(value)}")

    def flag(self, name: str) -> bool:
        value = self._get(name, _MISSING)
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


# --- how one field travels ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Codec:
    """`write(where, name, value)` gives the JSON value (or raises `CodecError` naming
    `where`); `read(fields, name)` takes it back. `default` is used when a body lacks
    the field (else the dataclass's plain default, else the field is required)."""

    write: Callable[[str, str, Any], Any]
    read: Callable[[_Fields, str], Any]
    default: Any = _MISSING


def _as_is(_where: str, _name: str, value: object) -> object:
    return value


def _finite(where: str, name: str, value: float) -> float:
    if not math.isfinite(value):
        raise CodecError(f"{where}: {name} must be finite")
    return value


def _finite_or_null(where: str, name: str, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise CodecError(f"{where}: {name} must be finite or null")
    return value


_BY_ANNOTATION: dict[object, _Codec] = {
    str: _Codec(_as_is, _Fields.text),
    int: _Codec(_as_is, _Fields.integer),
    int | None: _Codec(_as_is, _Fields.opt_integer),
    float: _Codec(_finite, _Fields.number),
    float | None: _Codec(_finite_or_null, _Fields.opt_number),
    bool: _Codec(_as_is, _Fields.flag),
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Message:
    cls: type
    type: str
    fields: tuple[tuple[str, _Codec], ...]

    def write(self, message: object, where: str) -> dict[str, Any]:
        return {name: c.write(where, name, getattr(message, name)) for name, c in self.fields}

    def read(self, f: _Fields) -> object:
        values = {
            name: c.default if c.default is not _MISSING and name not in f.doc else c.read(f, name)
            for name, c in self.fields
        }
        return self.cls(**values)


def _message(cls: type, type_name: str, *, last: str = "", **special: _Codec) -> _Message:
    """The table entry of a dataclass: its fields in order (`last` moved to the end), each
    coded by `special` or by its annotation."""
    hints = typing.get_type_hints(cls)
    fields = []
    for field in dataclasses.fields(cls):
        codec = special.get(field.name) or _BY_ANNOTATION[hints[field.name]]
        if codec.default is _MISSING and field.default is not dataclasses.MISSING:
            codec = dataclasses.replace(codec, default=field.default)
        fields.append((field.name, codec))
    fields.sort(key=lambda item: item[0] == last)
    return _Message(cls, type_name, tuple(fields))


# --- fields that are not plain values -------------------------------------------------------


def _write_trades(_where: str, _name: str, trades: tuple[Trade, ...]) -> list[tuple[Any, ...]]:
    for t in trades:
        if not (math.isfinite(t.price) and math.isfinite(t.qty)):
            raise CodecError(f"trade {t.trade_id}: price and qty must be finite")
    return [(t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker) for t in trades]


def _read_trades(f: _Fields, name: str) -> tuple[Trade, ...]:
    trades: list[Trade] = []
    for n, row in enumerate(f.array(name)):
        if type(row) is not list or len(row) != 5:
            raise f.error(name, f"item {n} is not [id, ts, price, qty, is_buyer_maker]")
        trade_id, ts, price, qty, maker = row
        if type(trade_id) is not int or type(ts) is not int:
            raise f.error(name, f"item {n}: id and ts must be integers")
        if type(price) is not float:
            if type(price) is not int:
                raise f.error(name, f"item {n}: price must be a number")
            price = float(price)
        if type(qty) is not float:
            if type(qty) is not int:
                raise f.error(name, f"item {n}: qty must be a number")
            qty = float(qty)
        if maker is not None and type(maker) is not bool:
            raise f.error(name, f"item {n}: is_buyer_maker must be true, false or null")
        trades.append(Trade(trade_id, ts, price, qty, maker))
    return tuple(trades)


def _read_state(f: _Fields, name: str) -> SourceState:
    state = f.text(name)
    try:
        return SourceState(state)
    except ValueError:
        raise f.error(name, f"unknown state {state!r}") from None


def _read_stored_kind(f: _Fields, name: str) -> str:
    kind = f.text(name)
    if kind not in {"listings", "global"}:
        raise f.error(name, f"expected 'listings' or 'global', got {kind!r}")
    return kind


_LISTING = _message(CmcListing, "", slug=_Codec(_as_is, _Fields.text, default=""))


def _write_listings(where: str, _name: str, items: tuple[CmcListing, ...]) -> list[Any]:
    return [_LISTING.write(item, f"{where}: coin {item.cmc_id}") for item in items]


def _read_listings(f: _Fields, name: str) -> tuple[CmcListing, ...]:
    items = []
    for n, item in enumerate(f.array(name)):
        if type(item) is not dict:
            raise f.error(name, f"item {n} is not an object")
        items.append(cast(CmcListing, _LISTING.read(_Fields(f"{f.kind}: {name} item {n}", item))))
    return tuple(items)


def _write_values(_where: str, _name: str, values: dict[str, float | None]) -> dict[str, Any]:
    # An undefined value (NaN) travels as null, as the alert's JSON shows it.
    return {str(k): v if v is not None and math.isfinite(v) else None for k, v in values.items()}


def _read_values(f: _Fields, name: str) -> dict[str, float | None]:
    raw = f.doc.get(name, {})
    if type(raw) is not dict:
        raise f.error(name, f"expected an object, got {_kind(raw)}")
    values: dict[str, float | None] = {}
    for key, value in raw.items():
        if value is None or type(value) is float:
            values[key] = value
        elif type(value) is int:
            values[key] = float(value)
        else:
            raise f.error(name, f"{key!r}: expected a number or null, got {_kind(value)}")
    return values


# --- the messages ---------------------------------------------------------------------------

_MESSAGES = (
    _message(TradeBatch, "trade_batch", trades=_Codec(_write_trades, _read_trades), last="trades"),
    _message(CandleUpdate, "candle_update"),
    _message(SourceStatus, "source_status", state=_Codec(_as_is, _read_state)),
    _message(RejectedFrame, "rejected_frame"),
    _message(CmcListings, "cmc_listings", listings=_Codec(_write_listings, _read_listings)),
    _message(CmcGlobalMetrics, "cmc_global_metrics"),
    _message(CmcStored, "cmc_stored", kind=_Codec(_as_is, _read_stored_kind)),
    _message(AlertRaised, "alert_raised", values=_Codec(_write_values, _read_values)),
)
_BY_CLASS = {spec.cls: spec for spec in _MESSAGES}
_BY_TYPE = {spec.type: spec for spec in _MESSAGES}
