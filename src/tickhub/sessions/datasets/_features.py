"""Feature columns of a training data set: a small whitelist grammar and the computation.
Pure: no I/O.

A feature is a name from `FEATURES` followed by optional integer parameters, each after
an underscore: `close`, `return`, `return_5`, `rsi_14`, `ema_20`, `macd`,
`macd_hist_12_26_9`, `bbands_20_2`. Names are case-insensitive. Indicators are computed
by TA-Lib over the candles of one instrument in time order (buckets without trades are
absent, as in the candles API); rows inside an indicator's warm-up hold null. TA-Lib is
imported on the first computation: its package imports pandas and pyarrow (~100 MiB), which
a process that computes no feature should not hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

MAX_PERIOD = 10_000
MAX_FEATURES = 64


class FeatureError(ValueError):
    """A feature name or parameter outside the grammar; the message says which."""


@dataclass(frozen=True, slots=True)
class Series:
    """The candles of one instrument, oldest first, as columns."""

    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    quote_volume: Array
    trade_count: Array
    vwap: Array

    def __len__(self) -> int:
        return len(self.close)

    @classmethod
    def of(cls, rows: Sequence[Sequence[float | None]]) -> Series:
        """From (open, high, low, close, volume, quote_volume, trade_count, vwap) tuples."""
        cols = np.array(rows, dtype=np.float64).reshape(len(rows), 8).T
        return cls(*(np.ascontiguousarray(c) for c in cols))


Compute = Callable[[Series, tuple[int, ...]], list[Array]]


@dataclass(frozen=True, slots=True)
class Spec:
    """One feature kind: its parameter counts, defaults, bounds and output columns."""

    arities: tuple[int, ...]
    defaults: tuple[int, ...]
    minimums: tuple[int, ...]
    compute: Compute
    outputs: tuple[str, ...] = ("",)


def _f(values: object) -> Array:
    return np.asarray(values, dtype=np.float64)


def _column(name: str) -> Compute:
    return lambda s, _p: [getattr(s, name).copy()]


def _returns(*, log: bool) -> Compute:
    def compute(s: Series, p: tuple[int, ...]) -> list[Array]:
        n = p[0]
        out = np.full(len(s), np.nan)
        if len(s) > n:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = s.close[n:] / s.close[:-n]
                out[n:] = np.log(ratio) if log else ratio - 1.0
        return [out]

    return compute


@cache
def _talib() -> ModuleType:
    """TA-Lib, imported once, on the first computation (see the module's docstring)."""
    import talib

    return talib


def _close_period(name: str) -> Compute:
    """TA-Lib's `name` over the closes."""
    return lambda s, p: [_f(getattr(_talib(), name)(s.close, timeperiod=p[0]))]


def _hlc_period(name: str) -> Compute:
    """TA-Lib's `name` over the highs, lows and closes."""
    return lambda s, p: [_f(getattr(_talib(), name)(s.high, s.low, s.close, timeperiod=p[0]))]


def _macd(s: Series, p: tuple[int, ...]) -> list[Array]:
    macd, signal, hist = _talib().MACD(s.close, fastperiod=p[0], slowperiod=p[1], signalperiod=p[2])
    return [_f(macd), _f(signal), _f(hist)]


def _bbands(s: Series, p: tuple[int, ...]) -> list[Array]:
    ta = _talib()
    upper, middle, lower = ta.BBANDS(
        s.close, timeperiod=p[0], nbdevup=float(p[1]), nbdevdn=float(p[1]), matype=ta.MA_Type.SMA
    )
    return [_f(upper), _f(middle), _f(lower)]


def _pick(compute: Compute, index: int) -> Compute:
    return lambda s, p: [compute(s, p)[index]]


def _period(default: int, compute: Compute, minimum: int = 2) -> Spec:
    return Spec((0, 1), (default,), (minimum,), compute)


def _macd_part(index: int) -> Spec:
    return Spec((0, 3), (12, 26, 9), (2, 2, 1), _pick(_macd, index))


_RAW = ("open", "high", "low", "close", "volume", "quote_volume", "trade_count", "vwap")

FEATURES: dict[str, Spec] = {
    **{name: Spec((0,), (), (), _column(name)) for name in _RAW},
    "return": Spec((0, 1), (1,), (1,), _returns(log=False)),
    "log_return": Spec((0, 1), (1,), (1,), _returns(log=True)),
    "sma": _period(30, _close_period("SMA")),
    "ema": _period(30, _close_period("EMA")),
    "wma": _period(30, _close_period("WMA")),
    "dema": _period(30, _close_period("DEMA")),
    "tema": _period(30, _close_period("TEMA")),
    "rsi": _period(14, _close_period("RSI")),
    "cmo": _period(14, _close_period("CMO")),
    "stddev": _period(5, _close_period("STDDEV")),
    "roc": _period(10, _close_period("ROC"), minimum=1),
    "mom": _period(10, _close_period("MOM"), minimum=1),
    "atr": _period(14, _hlc_period("ATR"), minimum=1),
    "natr": _period(14, _hlc_period("NATR"), minimum=1),
    "adx": _period(14, _hlc_period("ADX")),
    "cci": _period(14, _hlc_period("CCI")),
    "willr": _period(14, _hlc_period("WILLR")),
    "mfi": _period(
        14, lambda s, p: [_f(_talib().MFI(s.high, s.low, s.close, s.volume, timeperiod=p[0]))]
    ),
    "obv": Spec((0,), (), (), lambda s, _p: [_f(_talib().OBV(s.close, s.volume))]),
    "macd": _macd_part(0),
    "macd_signal": _macd_part(1),
    "macd_hist": _macd_part(2),
    # upper, middle, lower band: period, then the width in standard deviations
    "bbands": Spec((0, 1, 2), (20, 2), (2, 1), _bbands, outputs=("_upper", "_middle", "_lower")),
}

_NAME = re.compile(r"^([a-z]+(?:_[a-z]+)*)((?:_\d{1,6})*)$")


@dataclass(frozen=True, slots=True)
class Feature:
    """A parsed feature: `text` as written (lower-cased), its kind and full parameters."""

    text: str
    kind: str
    params: tuple[int, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.text + suffix for suffix in FEATURES[self.kind].outputs)

    def compute(self, series: Series) -> list[Array]:
        if len(series) == 0:
            return [np.empty(0) for _ in self.columns]
        out = FEATURES[self.kind].compute(series, self.params)
        for a in out:
            a[~np.isfinite(a)] = np.nan
        return out


def parse_feature(text: object) -> Feature:
    """`rsi_14` → Feature("rsi_14", "rsi", (14,)); `FeatureError` outside the grammar."""
    if not isinstance(text, str):
        raise FeatureError(f"a feature is a string such as 'rsi_14', not {text!r}")
    name = text.strip().lower()
    m = _NAME.match(name)
    if m is None or m.group(1) not in FEATURES:
        known = ", ".join(sorted(FEATURES))
        raise FeatureError(f"unknown feature {text!r}: use one of {known}, optionally _<n>")
    kind = m.group(1)
    spec = FEATURES[kind]
    given = tuple(int(p) for p in m.group(2).split("_") if p)
    if len(given) not in spec.arities:
        counts = " or ".join(str(a) for a in spec.arities)
        raise FeatureError(f"feature {text!r}: {kind} takes {counts} parameter(s)")
    params = given + spec.defaults[len(given) :]
    for value, low in zip(params, spec.minimums, strict=True):
        if not low <= value <= MAX_PERIOD:
            raise FeatureError(
                f"feature {text!r}: parameter {value} is outside {low}..{MAX_PERIOD}"
            )
    if kind.startswith("macd") and params[0] >= params[1]:
        raise FeatureError(f"feature {text!r}: the fast period must be below the slow one")
    return Feature(name, kind, params)


def parse_features(values: Sequence[object]) -> list[Feature]:
    """Parse a list of features; repeated columns and over-long lists are refused."""
    if not values:
        raise FeatureError("at least one feature is required")
    if len(values) > MAX_FEATURES:
        raise FeatureError(f"at most {MAX_FEATURES} features")
    features = [parse_feature(v) for v in values]
    seen: set[str] = set()
    for f in features:
        for column in f.columns:
            if column in seen or column in {"time", "instrument"}:
                raise FeatureError(f"feature column {column!r} is repeated")
            seen.add(column)
    return features


def compute(features: Sequence[Feature], series: Series) -> list[Array]:
    """Every column of `features` over `series`, in order."""
    return [column for f in features for column in f.compute(series)]
