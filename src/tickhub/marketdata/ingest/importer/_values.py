"""One value at a time (the reference semantics), and whole columns at once.

The whole-column converters are an optimisation: each either declines a column (None)
or gives exactly what its one-value parser gives, value by value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc

from tickhub.common.time import datetime_to_us

_MAX_ID: Final = 2**63 - 1
_UTC_US: Final = pa.timestamp("us", tz="UTC")


class ImportFormatError(ValueError):
    """A trade file that cannot be imported, with where and why, ready to print."""

    def __init__(
        self,
        path: Path | str,
        line_no: int | None,
        reason: str,
        *,
        column: str | None = None,
        unit: Literal["line", "row"] = "line",
    ) -> None:
        self.path = Path(path)
        self.line_no = line_no
        self.reason = reason
        self.column = column
        where = str(path) if line_no is None else f"{path}, {unit} {line_no}"
        what = f"column {column!r}: " if column else ""
        super().__init__(f"{where}: {what}{reason}")


# --- values, one at a time (the reference semantics) ---------------------------------------

_INT_RE: Final = re.compile(r"[+-]?[0-9]+")
_DEC_RE: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_id(value: Any) -> int:
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise ValueError("missing value" if _missing(value) else f"not an integer: {value!r}")
    if not 0 <= number <= _MAX_ID:
        raise ValueError(f"trade id out of range: {value!r}")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, int | float | Decimal | str) and not isinstance(value, bool):
        try:
            return float(value)
        except (ValueError, OverflowError):
            pass
    raise ValueError("missing value" if _missing(value) else f"not a number: {value!r}")


def _parse_price(value: Any) -> float:
    number = _to_float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"price must be positive and finite: {value!r}")
    return number


def _parse_qty(value: Any) -> float:
    number = _to_float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"quantity must be non-negative and finite: {value!r}")
    return number


def _scale_epoch(number: int | Decimal) -> int:
    """Epoch seconds, ms, µs or ns (by magnitude) to integer µs, truncating fractions."""
    if number < 0:
        raise ValueError(f"timestamp before 1970: {number}")
    if number < 10**11:
        number = number * 1_000_000
    elif number < 10**14:
        number = number * 1_000
    elif number >= 10**17:
        if number >= 10**20:
            raise ValueError(f"timestamp out of range: {number}")
        number = number / 1_000 if isinstance(number, Decimal) else number // 1_000
    if isinstance(number, Decimal):
        return int(number.to_integral_value(ROUND_FLOOR))
    return number


def _parse_ts(value: Any) -> int:
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.fullmatch(text):
            return _scale_epoch(int(text))
        if _DEC_RE.fullmatch(text):
            return _scale_epoch(Decimal(text))
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            why = f"not an epoch number or ISO-8601 time: {value!r}" if text else "missing value"
            raise ValueError(why) from None
    if isinstance(value, datetime):
        us = datetime_to_us(value)  # naive means UTC
        if us < 0:
            raise ValueError(f"timestamp before 1970: {value.isoformat()}")
        return us
    if isinstance(value, int) and not isinstance(value, bool):
        return _scale_epoch(value)
    if isinstance(value, float) and math.isfinite(value):
        return _scale_epoch(Decimal(repr(value)))
    if isinstance(value, Decimal) and value.is_finite():
        return _scale_epoch(value)
    raise ValueError("missing value" if value is None else f"not a timestamp: {value!r}")


def _words(
    true: Iterable[str | int], false: Iterable[str | int], hint: str
) -> Callable[[Any], bool | None]:
    meaning = {**dict.fromkeys(true, True), **dict.fromkeys(false, False)}

    def parse(value: Any) -> bool | None:
        if isinstance(value, bool) or value is None:
            return value
        key = value.strip().lower() if isinstance(value, str) else value
        if key == "":
            return None
        if isinstance(key, str | int) and key in meaning:
            return meaning[key]
        raise ValueError(f"expected {hint}, got {value!r}")

    return parse


_TRUE: Final = ("true", "1", 1)
_FALSE: Final = ("false", "0", 0)
_parse_maker = _words(_TRUE, _FALSE, "true or false")
_parse_taker_side = _words(("sell", "s"), ("buy", "b"), "buy or sell")
_parse_maker_side = _words(("buy", "b"), ("sell", "s"), "buy or sell")


# --- whole columns at once (an optimisation that must agree with the above) ---------------


def _try_cast(arr: Any, *types: Any) -> Any | None:
    for typ in types:
        try:
            return arr.cast(typ)
        except pa.ArrowException:
            pass
    return None


def _decimal_ints(arr: Any) -> Any | None:
    """Strings of digits as int64; arrow alone would also take 0x-hex."""
    if pc.any(pc.match_substring(arr, "x", ignore_case=True)).as_py():
        return None
    return _try_cast(arr, pa.int64())


def _fast_id(arr: Any) -> list[Any] | None:
    if pa.types.is_string(arr.type):
        arr = _decimal_ints(arr)
    elif pa.types.is_integer(arr.type):
        arr = _try_cast(arr, pa.int64())
    else:
        return None
    if arr is None or arr.null_count or (len(arr) and pc.min(arr).as_py() < 0):
        return None
    return list(arr.to_pylist())


def _fast_float(arr: Any, *, allow_zero: bool) -> list[Any] | None:
    typ = arr.type
    if not (pa.types.is_string(typ) or pa.types.is_integer(typ) or pa.types.is_floating(typ)):
        return None  # decimals go value by value: float(Decimal) rounds correctly
    try:
        arr = pc.cast(arr, pa.float64())
    except pa.ArrowException:
        return None
    if arr.null_count:
        return None
    low = pc.greater_equal(arr, 0.0) if allow_zero else pc.greater(arr, 0.0)
    if not pc.all(pc.and_(pc.is_finite(arr), low)).as_py():
        return None
    return list(arr.to_pylist())


def _fast_ts(arr: Any) -> list[Any] | None:
    scale = not pa.types.is_timestamp(arr.type)  # timestamps are µs here (_column_values)
    if pa.types.is_string(arr.type):
        # epoch integers, else ISO-8601 all with offsets or all naive (= UTC)
        epoch = _decimal_ints(arr)
        scale = epoch is not None
        arr = epoch if scale else _try_cast(arr, _UTC_US, pa.timestamp("us"))
    elif not (pa.types.is_integer(arr.type) or pa.types.is_timestamp(arr.type)):
        return None
    arr = None if arr is None else _try_cast(arr, pa.int64())
    if arr is None or arr.null_count or (len(arr) and pc.min(arr).as_py() < 0):
        return None
    if scale:  # the same magnitude rule as _scale_epoch; int64 stays below 1e20
        arr = pc.if_else(
            pc.less(arr, 10**11),
            pc.multiply(arr, 1_000_000),
            pc.if_else(
                pc.less(arr, 10**14),
                pc.multiply(arr, 1_000),
                pc.if_else(pc.less(arr, 10**17), arr, pc.divide(arr, 1_000)),
            ),
        )
    return list(arr.to_pylist())


def _fast_words(true: Sequence[str], false: Sequence[str]) -> Callable[[Any], list[Any] | None]:
    def fast(arr: Any) -> list[Any] | None:
        if pa.types.is_boolean(arr.type) and not arr.null_count:
            return list(arr.to_pylist())
        if not pa.types.is_string(arr.type) or arr.null_count:
            return None
        lower = pc.utf8_lower(arr)
        is_true = pc.is_in(lower, value_set=pa.array(true))
        if not pc.all(pc.or_(is_true, pc.is_in(lower, value_set=pa.array(false)))).as_py():
            return None  # blanks, spaces, typos: value by value
        return list(is_true.to_pylist())

    return fast
