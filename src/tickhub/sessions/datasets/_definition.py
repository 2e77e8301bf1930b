"""The definition of a training data set, checked field by field. Pure: no I/O.

Errors are `DatasetInvalid`s naming the field at fault (`instruments[1]`, `features[0]`,
`interval`, ...). Times and the interval are checked with the market-data rules, so a
data set accepts what `/v1/candles` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tickhub.common import errors as kinds
from tickhub.marketdata import service as md
from tickhub.sessions.datasets._features import Feature, FeatureError, parse_features

MAX_INSTRUMENTS = 32
REQUIRED = ("instruments", "interval", "start", "end", "features")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KNOWN = {*REQUIRED, "label", "tz"}


class DatasetError(kinds.DomainError):
    """A request about data sets that cannot be met; `field` names the culprit."""


class DatasetInvalid(DatasetError, kinds.Invalid):
    """A definition, a label or a parameter that does not hold."""


class DatasetNotFound(DatasetError, kinds.NotFound):
    """No such data set, or not the caller's."""


class DatasetConflict(DatasetError, kinds.Conflict):
    """An ambiguous label (several owners) or a concurrent write."""


@dataclass(frozen=True, slots=True)
class InstrumentRef:
    symbol: str
    exchange: str | None


@dataclass(frozen=True, slots=True)
class Definition:
    label: str
    instruments: tuple[InstrumentRef, ...]
    interval: str
    start: int  # µs since the epoch, UTC
    end: int
    features: tuple[Feature, ...]
    tz: str | None = None

    @property
    def columns(self) -> list[str]:
        return ["time", "instrument", *(c for f in self.features for c in f.columns)]


def check_label(label: object, field: str = "label") -> str:
    if not isinstance(label, str) or not _LABEL.match(label):
        raise DatasetInvalid(
            f"invalid {field}: 1 to 128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field=field,
        )
    return label


def parse_instrument(value: object, field: str) -> InstrumentRef:
    """`"binance:BTCUSDT"`, `"BTC-USDT"` or `{"symbol": ..., "exchange": ...}`."""
    if isinstance(value, dict):
        symbol, exchange = value.get("symbol"), value.get("exchange")
        unknown = set(value) - {"symbol", "exchange"}
        if unknown:
            raise DatasetInvalid(
                f"unknown key(s) in {field}: {', '.join(sorted(unknown))}", field=field
            )
    elif isinstance(value, str):
        exchange, _, symbol = value.rpartition(":")
        exchange = exchange or None
    else:
        raise DatasetInvalid(
            f"{field} must be 'exchange:SYMBOL', 'SYMBOL' or an object", field=field
        )
    if not isinstance(symbol, str) or not symbol.strip() or len(symbol) > 64:
        raise DatasetInvalid(f"{field} needs a symbol such as BTCUSDT", field=field)
    if exchange is not None and (not isinstance(exchange, str) or not exchange.strip()):
        raise DatasetInvalid(f"{field}: exchange must be a non-empty string", field=field)
    return InstrumentRef(symbol.strip(), exchange.strip() if exchange else None)


def _time(body: dict[str, Any], field: str) -> int:
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetInvalid(
            f"{field} must be an ISO-8601 string or epoch milliseconds", field=field
        )
    try:
        return md.parse_time(str(value), field)
    except md.MarketDataError as exc:
        raise DatasetInvalid(exc.message, field=field) from exc


def parse_definition(body: object, label: str | None) -> Definition:
    """Check a POST body. `label` comes from the path; without one the body names it."""
    if not isinstance(body, dict):
        raise DatasetInvalid("the body must be a JSON object", field="body")
    if label is not None and "label" in body and body["label"] != label:
        raise DatasetInvalid(
            "the label in the body differs from the one in the path", field="label"
        )
    required = REQUIRED if label is not None else ("label", *REQUIRED)
    missing = [f for f in required if body.get(f) in (None, "", [])]
    if missing:
        raise DatasetInvalid(
            f"Missing required field(s): {', '.join(missing)}.", field=",".join(missing)
        )
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise DatasetInvalid(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    label = check_label(body["label"] if label is None else label)

    raw_instruments = body["instruments"]
    if not isinstance(raw_instruments, list):
        raise DatasetInvalid("instruments must be a list", field="instruments")
    if len(raw_instruments) > MAX_INSTRUMENTS:
        raise DatasetInvalid(f"at most {MAX_INSTRUMENTS} instruments", field="instruments")
    instruments = tuple(
        parse_instrument(v, f"instruments[{i}]") for i, v in enumerate(raw_instruments)
    )

    interval = body["interval"]
    if not isinstance(interval, str):
        raise DatasetInvalid("interval must be a string such as 1m or 4h", field="interval")
    try:
        interval = md.interval_or_error(interval).text
    except md.MarketDataError as exc:
        raise DatasetInvalid(exc.message, field="interval") from exc

    start, end = _time(body, "start"), _time(body, "end")
    if start >= end:
        raise DatasetInvalid("end must be after start", field="end")

    tz = body.get("tz")
    if tz is not None:
        if not isinstance(tz, str):
            raise DatasetInvalid(
                "tz must be an IANA time zone name such as Europe/Paris", field="tz"
            )
        try:
            md.parse_tz(tz)
        except md.MarketDataError as exc:
            raise DatasetInvalid(exc.message, field="tz") from exc

    raw_features = body["features"]
    if not isinstance(raw_features, list):
        raise DatasetInvalid(
            "features must be a list such as ['close', 'rsi_14']", field="features"
        )
    for i, value in enumerate(raw_features):
        try:
            parse_features([value])
        except FeatureError as exc:
            raise DatasetInvalid(str(exc), field=f"features[{i}]") from exc
    try:
        features = tuple(parse_features(raw_features))
    except FeatureError as exc:
        raise DatasetInvalid(str(exc), field="features") from exc
    return Definition(label, instruments, interval, start, end, features, tz or None)
