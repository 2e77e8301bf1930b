"""Vectorised evaluation of parsed conditions over a candle history, using TA-Lib.

TA-Lib is imported on the first evaluation, not with this module: its package imports
pandas (and pandas pyarrow) when they are installed, about 100 MiB that a process with no
strategy to evaluate (`tickhub up` serving the live path) should not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from functools import cache, lru_cache
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from tickhub.alerts.language._functions import kind_of, split_args
from tickhub.alerts.language._tree import (
    Binary,
    Call,
    Condition,
    Node,
    Number,
    Series,
    Unary,
    children,
)

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.intp]
# A boolean series in three-valued logic: (definitely true, definitely false); rows that are
# neither are undefined (indicator warm-up, NaN input) and end up False.
Truth = tuple[Bools, Bools]
# A number at the rows being decided: an array, or a plain float for a literal.
Value = Floats | float

_T = TypeVar("_T")

_COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
}


def evaluate(condition: Condition, candles: Mapping[str, npt.ArrayLike]) -> Bools:
    """The condition at every candle; undefined rows (warm-up, NaN) are False."""
    return Evaluation(candles, series=condition.series).decide(condition)


def explain(
    condition: Condition,
    candles: Mapping[str, npt.ArrayLike],
    index: int,
    *,
    ages: Mapping[str, npt.ArrayLike] | None = None,
) -> dict[str, float]:
    """Values of every series and indicator sub-expression at candle `index`.

    Keys are the sub-expressions in canonical form (see `render`); literals are left out.
    A series given an age (see `Evaluation`) is followed by `<name>.age_s`.
    """
    evaluation = Evaluation(candles, (), series=condition.series, ages=ages)
    return evaluation.explain(condition, index)


def render(node: Node) -> str:
    """Canonical source text for `node`; parsing it gives back an equal tree."""
    if isinstance(node, Number):
        return np.format_float_positional(node.value, trim="-")
    if isinstance(node, Series):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({', '.join(render(a) for a in node.args)})"
    if isinstance(node, Unary):
        return f"not ({render(node.operand)})" if node.op == "not" else f"-({render(node.operand)})"
    return f"({render(node.left)} {node.op} {render(node.right)})"


class Evaluation:
    """One candle history, evaluated for any number of conditions.

    Every sub-expression is computed once, whichever conditions use it: nodes are frozen
    dataclasses whose equality ignores positions, so equal sub-expressions (`rsi(14)`,
    `sma(close, 50)`, `close * 1.02`) are one cache key. Numbers (series, indicators,
    arithmetic) are computed over the whole history, which indicators need; booleans
    (comparisons, `and`/`or`/`not`, crossings) only at `rows`, the candles being decided
    (default: all of them). `decide` at a row equals `evaluate` at that row.

    `series` names the candle series read (default: every one in `candles`); they must be
    one-dimensional and of one length. Raises ValueError for bad candles and IndexError
    for rows outside the history.

    `ages` gives, for series carried forward from sparser data (the market series), the
    age in seconds of the value at each candle (0: stored for the close itself; NaN: no
    value yet); `explain` reports it after the series as `<name>.age_s`, so a gap shows.
    """

    def __init__(
        self,
        candles: Mapping[str, npt.ArrayLike],
        rows: npt.ArrayLike | None = None,
        *,
        series: Collection[str] | None = None,
        ages: Mapping[str, npt.ArrayLike] | None = None,
    ) -> None:
        self._series: dict[str, Floats] = {}
        length: int | None = None
        for name in sorted(candles if series is None else series):
            if name not in candles:
                raise ValueError(f"candles have no '{name}' series")
            array = np.ascontiguousarray(candles[name], dtype=np.float64)
            if array.ndim != 1:
                raise ValueError(f"candle series '{name}' must be one-dimensional")
            if length is not None and array.shape[0] != length:
                raise ValueError("candle series must all have the same length")
            length = array.shape[0]
            self._series[name] = array
        if length is None:
            length = max((np.shape(candles[k])[0] for k in candles), default=0)
        self.length: int = length
        self._ages: dict[str, Floats] = {}
        for name, given in (ages or {}).items():
            age = np.ascontiguousarray(given, dtype=np.float64)
            if age.shape != (length,):
                raise ValueError(f"ages of '{name}' must be one per candle")
            self._ages[name] = age
        self.rows: Rows = (
            np.arange(length, dtype=np.intp) if rows is None else np.asarray(rows, dtype=np.intp)
        )
        if self.rows.size and not (self.rows.min() >= 0 and self.rows.max() < length):
            raise IndexError(f"rows out of range for {length} candles")
        self._before: Rows = self.rows - 1
        self._has_before: Bools = self.rows >= 1
        self._numbers: dict[Node, Floats] = {}
        self._values: dict[Node, Value] = {}
        self._truths: dict[Node, Truth] = {}
        self._names: dict[Node, str] = {}

    def decide(self, condition: Condition) -> Bools:
        """The condition at each of `rows`; undefined rows are False."""
        with np.errstate(all="ignore"):
            return self._truth(condition.root)[0]

    def explain(self, condition: Condition, index: int) -> dict[str, float]:
        """`explain` at candle `index`, from the numbers computed so far (or now)."""
        if not -self.length <= index < self.length:
            raise IndexError(f"candle index {index} out of range for {self.length} candles")
        values: dict[str, float] = {}
        with np.errstate(all="ignore"):
            for node in _numeric_nodes(condition.root):
                name = _cached(self._names, node, render)
                if name not in values:
                    values[name] = float(self._number(node)[index])
                    if isinstance(node, Series) and name in self._ages:
                        values[f"{name}.age_s"] = float(self._ages[name][index])
        return values

    def explain_columns(
        self, condition: Condition, indices: Sequence[int]
    ) -> list[tuple[str, Floats]]:
        """`explain` at each of `indices`, by sub-expression: its name and its values at
        those candles (`explain` at `indices[k]` is `{name: values[k]}`, ages included)."""
        picked = np.asarray(indices, dtype=np.intp)
        if picked.size and not (picked.min() >= -self.length and picked.max() < self.length):
            raise IndexError(f"candle index out of range for {self.length} candles")
        columns: list[tuple[str, Floats]] = []
        with np.errstate(all="ignore"):
            for name, node in _named_numeric_nodes(condition.root):
                columns.append((name, self._number(node)[picked]))
                if isinstance(node, Series) and name in self._ages:
                    columns.append((f"{name}.age_s", self._ages[name][picked]))
        return columns

    def number(self, node: Node) -> Floats:
        """A numeric sub-expression over the whole history (NaN where undefined)."""
        with np.errstate(all="ignore"):
            return self._number(node)

    # -- numbers over the whole history ------------------------------------------------

    def _number(self, node: Node) -> Floats:
        return _cached(self._numbers, node, self._compute_number)

    def _compute_number(self, node: Node) -> Floats:
        if isinstance(node, Number):
            return np.full(self.length, node.value)
        if isinstance(node, Series):
            return self._series[node.name]
        if isinstance(node, Unary):
            return np.negative(self._number(node.operand))
        if isinstance(node, Binary):
            return _floats(_ARITHMETIC[node.op](self._number(node.left), self._number(node.right)))
        assert isinstance(node, Call)
        return self._indicator(node)

    def _indicator(self, node: Call) -> Floats:
        name = node.name
        series, ints = split_args(node)
        source = self._series.get("close") if series is None else self._number(series)
        if name == "atr":
            high, low, close = (self._series[k] for k in ("high", "low", "close"))
            return _floats(_talib().ATR(high, low, close, timeperiod=ints[0]))
        assert source is not None
        if name.startswith("macd"):
            fast, slow, signal = ints[-3:]
            out = _talib().MACD(source, fastperiod=fast, slowperiod=slow, signalperiod=signal)
            return _floats(out[("macd", "macd_signal", "macd_hist").index(name)])
        if name.startswith("bbands_"):
            k = float(node.args[2].value) if isinstance(node.args[2], Number) else 0.0
            out = _talib().BBANDS(source, timeperiod=ints[0], nbdevup=k, nbdevdn=k)
            return _floats(out[("bbands_upper", "bbands_middle", "bbands_lower").index(name)])
        if name == "change":
            return _change(source, ints[0])
        return _floats(getattr(_talib(), _SIMPLE[name])(source, timeperiod=ints[0]))

    # -- numbers and booleans at the rows ----------------------------------------------

    def _value(self, node: Node) -> Value:
        """A numeric sub-expression at the rows only; literals stay scalars."""
        return _cached(self._values, node, self._compute_value)

    def _compute_value(self, node: Node) -> Value:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Unary):
            value: Value = np.negative(self._value(node.operand))
        elif isinstance(node, Binary):
            value = _ARITHMETIC[node.op](self._value(node.left), self._value(node.right))
        else:
            value = self._number(node)[self.rows]
        return value

    def _truth(self, node: Node) -> Truth:
        return _cached(self._truths, node, self._compute_truth)

    def _compute_truth(self, node: Node) -> Truth:
        if isinstance(node, Unary):
            true, false = self._truth(node.operand)
            return false, true
        if isinstance(node, Call):
            return self._cross(node)
        assert isinstance(node, Binary)
        if node.op in ("and", "or"):
            (lt, lf), (rt, rf) = self._truth(node.left), self._truth(node.right)
            if node.op == "and":
                return lt & rt, lf | rf
            return lt | rt, lf & rf
        left, right = self._value(node.left), self._value(node.right)
        defined = np.isfinite(left) & np.isfinite(right)
        result = _COMPARE[node.op](left, right)
        if np.ndim(result) == 0:  # literals on both sides
            defined = np.broadcast_to(defined, self.rows.shape)
            result = np.broadcast_to(result, self.rows.shape)
        return defined & result, defined & ~result

    def _cross(self, node: Call) -> Truth:
        a, b = self._number(node.args[0]), self._number(node.args[1])
        now, before = self.rows, self._before
        a_now, b_now, a_before, b_before = a[now], b[now], a[before], b[before]
        defined = self._has_before & np.isfinite(a_now) & np.isfinite(b_now)
        defined &= np.isfinite(a_before) & np.isfinite(b_before)
        if node.name == "crosses_above":
            crossed = (a_now > b_now) & (a_before <= b_before)
        else:
            crossed = (a_now < b_now) & (a_before >= b_before)
        return defined & crossed, defined & ~crossed


def _cached(cache: dict[Node, _T], node: Node, compute: Callable[[Node], _T]) -> _T:
    found = cache.get(node)
    if found is None:
        found = cache[node] = compute(node)
    return found


@lru_cache(maxsize=65_536)
def _named_numeric_nodes(root: Node) -> tuple[tuple[str, Node], ...]:
    """The numeric sub-expressions `explain` reports, by canonical name, in its order."""
    out: dict[str, Node] = {}
    for node in _numeric_nodes(root):
        out.setdefault(render(node), node)
    return tuple(out.items())


def _numeric_nodes(root: Node) -> list[Node]:
    """Non-literal numeric sub-expressions, pre-order, left first."""
    out: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, Number) and kind_of(node) == "number":
            out.append(node)
        stack.extend(reversed(children(node)))
    return out


# TA-Lib's function of each simple indicator (`_talib` resolves it)
_SIMPLE: Mapping[str, str] = {
    "rsi": "RSI",
    "sma": "SMA",
    "ema": "EMA",
    "wma": "WMA",
    "stddev": "STDDEV",
    "roc": "ROC",
    "highest": "MAX",
    "lowest": "MIN",
}


@cache
def _talib() -> ModuleType:
    """TA-Lib, imported once, when a condition is first evaluated (see the module's
    docstring)."""
    import talib

    return talib


def _floats(values: Any) -> Floats:
    return np.asarray(values, dtype=np.float64)


def _change(source: Floats, n: int) -> Floats:
    """Percent change over `n` candles: 100 * (x[t] / x[t - n] - 1)."""
    out = np.full(source.shape[0], np.nan)
    if source.shape[0] > n:
        out[n:] = (source[n:] / source[:-n] - 1.0) * 100.0
    return out
