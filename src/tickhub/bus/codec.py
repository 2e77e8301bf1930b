"""Bytes on the wire for the messages the contexts declare.

A body is one JSON object (orjson) with a format version `v` and a `type`:

    {"v": 1, "type": "trade_batch", "exchange": "binance", "symbol": "BTCUSDT",
     "base": "BTC", "quote": "USDT", "simulated": false,
     "trades": [[trade_id, ts, price, qty, is_buyer_maker], ...]}

The bus knows no message itself: each context declares its messages beside its events as
`MessageSpec`s (`message_spec(TradeBatch, "trade_batch", ...)`), and the composition root
assembles them into one `Codec` that it hands to the bus. A spec's fields travel in the
dataclass's order (`last` moved to the end), each coded by its annotation (`str`, `int`,
`float`, `bool`, `X | None`) unless the spec gives a `FieldCodec` for it. Floats use the
shortest representation that reads back to the same float64, so a round trip is exact; NaN
and infinities are refused at encode. Decoding checks every field and raises `CodecError`
naming what is wrong; a field with a plain default may be missing; a reader of version 1
ignores fields it does not know, so fields can be added without a new version.

Pure: no I/O and no broker library, so any transport (or a file) can use it.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Any

import orjson

CODEC_VERSION = 1
CONTENT_TYPE = "application/json"


class CodecError(ValueError):
    """A message that cannot be encoded, or a body that is not a message of a known kind."""


class Codec:
    """Encodes and decodes the messages of the specs it is built from."""

    def __init__(self, *specs: MessageSpec) -> None:
        self._by_class: dict[type, MessageSpec] = {}
        self._by_type: dict[str, MessageSpec] = {}
        for spec in specs:
            if spec.cls in self._by_class or spec.type in self._by_type:
                raise ValueError(f"{spec.cls.__name__} ({spec.type!r}) is declared twice")
            self._by_class[spec.cls] = spec
            self._by_type[spec.type] = spec

    @property
    def types(self) -> tuple[str, ...]:
        """The `type` of every message this codec knows, in the order declared."""
        return tuple(self._by_type)

    def message_type(self, message: object) -> str:
        """The `type` a message is encoded with (`trade_batch`, `candle_update`, ...)."""
        return self._spec_of(message).type

    def encode(self, message: object) -> bytes:
        spec = self._spec_of(message)
        try:
            doc = {"v": CODEC_VERSION, "type": spec.type, **spec.write(message, spec.type)}
            return orjson.dumps(doc)
        except CodecError:
            raise
        except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
            raise CodecError(f"cannot encode {spec.type}: {exc}") from exc

    def decode(self, body: bytes | bytearray | memoryview | str) -> object:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise CodecError(f"body is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise CodecError(f"body is a JSON {type(doc).__name__}, not an object")
        version = doc.get("v")
        if version != CODEC_VERSION:
            raise CodecError(
                f"unsupported format version {version!r} (this reader: {CODEC_VERSION})"
            )
        kind = doc.get("type")
        spec = self._by_type.get(kind) if isinstance(kind, str) else None
        if spec is None or not isinstance(kind, str):
            raise CodecError(f"unknown message type {kind!r}")
        return spec.read(Fields(kind, doc))

    def _spec_of(self, message: object) -> MessageSpec:
        spec = self._by_class.get(type(message))
        if spec is None:
            raise CodecError(f"cannot encode a {type(message).__name__}: not a tickhub event")
        return spec


# --- reading fields -------------------------------------------------------------------------

_MISSING: Any = object()


class Fields:
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
            raise self.error(name, f"expected a string, got {describe(value)}")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name, _MISSING)
        if type(value) is not int:
            raise self.error(name, f"expected an integer, got {describe(value)}")
        return value

    def opt_integer(self, name: str) -> int | None:
        value = self._get(name, None)
        if value is not None and type(value) is not int:
            raise self.error(name, f"expected an integer or null, got {describe(value)}")
        return value

    def number(self, name: str) -> float:
        value = self._get(name, _MISSING)
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise self.error(name, f"expected a number, got {describe(value)}")

    def opt_number(self, name: str) -> float | None:
        value = self._get(name, None)
        if value is None or type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise self.error(name, f"expected a number or null, got {describe(value)}")

    def flag(self, name: str) -> bool:
        value = self._get(name, _MISSING)
        if type(value) is not bool:
            raise self.error(name, f"expected true or false, got {describe(value)}")
        return value

    def array(self, name: str) -> list[Any]:
        value = self._get(name, _MISSING)
        if type(value) is not list:
            raise self.error(name, f"expected an array, got {describe(value)}")
        return value


def describe(value: object) -> str:
    """What a JSON value is, for an error message: `null`, `str`, `dict`, ..."""
    return "null" if value is None else type(value).__name__


# --- how one field travels ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FieldCodec:
    """`write(where, name, value)` gives the JSON value (or raises `CodecError` naming
    `where`); `read(fields, name)` takes it back. `default` is used when a body lacks
    the field (else the dataclass's plain default, else the field is required)."""

    write: Callable[[str, str, Any], Any]
    read: Callable[[Fields, str], Any]
    default: Any = _MISSING


def as_is(_where: str, _name: str, value: object) -> object:
    """The `write` of a field whose value is already JSON."""
    return value


def _finite(where: str, name: str, value: float) -> float:
    if not math.isfinite(value):
        raise CodecError(f"{where}: {name} must be finite")
    return value


def _finite_or_null(where: str, name: str, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise CodecError(f"{where}: {name} must be finite or null")
    return value


_BY_ANNOTATION: dict[object, FieldCodec] = {
    str: FieldCodec(as_is, Fields.text),
    int: FieldCodec(as_is, Fields.integer),
    int | None: FieldCodec(as_is, Fields.opt_integer),
    float: FieldCodec(_finite, Fields.number),
    float | None: FieldCodec(_finite_or_null, Fields.opt_number),
    bool: FieldCodec(as_is, Fields.flag),
}


@dataclasses.dataclass(frozen=True, slots=True)
class MessageSpec:
    """How one message class travels: its `type` and how each field is coded."""

    cls: type
    type: str
    fields: tuple[tuple[str, FieldCodec], ...]

    def write(self, message: object, where: str) -> dict[str, Any]:
        return {name: c.write(where, name, getattr(message, name)) for name, c in self.fields}

    def read(self, f: Fields) -> object:
        values = {
            name: c.default if c.default is not _MISSING and name not in f.doc else c.read(f, name)
            for name, c in self.fields
        }
        return self.cls(**values)


def message_spec(
    cls: type, type_name: str, *, last: str = "", **special: FieldCodec
) -> MessageSpec:
    """The spec of a dataclass: its fields in order (`last` moved to the end), each coded by
    `special` or by its annotation. A nested dataclass (a listing within listings) gets a
    spec too, with any `type_name`, and its own `FieldCodec` writes and reads it."""
    hints = typing.get_type_hints(cls)
    fields = []
    for field in dataclasses.fields(cls):
        codec = special.get(field.name) or _BY_ANNOTATION[hints[field.name]]
        if codec.default is _MISSING and field.default is not dataclasses.MISSING:
            codec = dataclasses.replace(codec, default=field.default)
        fields.append((field.name, codec))
    fields.sort(key=lambda item: item[0] == last)
    return MessageSpec(cls, type_name, tuple(fields))
