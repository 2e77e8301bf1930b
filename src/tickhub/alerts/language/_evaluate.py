"""Vectorised evaluation of parsed conditions over a candle history, using TA-Lib."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import talib

from tickhub.alerts.language._parser import (
    Binary,
    Call,
    Condition,
    Node,
    Number,
    Series,
    Unary,
    kind_of,
    split_args,
)

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
# A boolean series in three-valued logic: (definitely true, definitely false); rows that are
# neither are undefined (indicator warm-up, NaN input) and end up False.
Truth = tuple[Bools, Bools]

_COMPARE: Mapping[str, Callable[[Floats, Floats], Bools]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_ARITHMETIC: Mapping[str, Callable[[Floats, Floats], Floats]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
}


def evaluate(condition: Condition, candles: Mapping[str, npt.ArrayLike]) -> Bools:
    """The condition at every candle; undefined rows (warm-up, NaN) are False."""
    context = _Context(candles, condition)
    with np.errstate(all="ignore"):
        true, _ = context.truth(condition.root)
    return true


def explain(
    condition: Condition, candles: Mapping[str, npt.ArrayLike], index: int
) -> dict[str, float]:
    """Values of every series and indicator sub-expression at candle `index`.

    Keys are the sub-expressions in canonical form (see `render`); literals are left out.
    """
    context = _Context(candles, condition)
    if not -context.length <= index < context.length:
        raise IndexError(f"candle index {index} out of range for {context.length} candles")
    values: dict[str, float] = {}
    with np.errstate(all="ignore"):
        context.truth(condition.root)
        for node in _walk(condition.root):
            if not isinstance(node, Number) and kind_of(node) == "number":
                values.setdefault(render(node), float(context.number(node)[index]))
    return values


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


def _walk(node: Node) -> list[Node]:
    out = [node]
    if isinstance(node, Call):
        for arg in node.args:
            out.extend(_walk(arg))
    elif isinstance(node, Unary):
        out.extend(_walk(node.operand))
    elif isinstance(node, Binary):
        out.extend(_walk(node.left))
        out.extend(_walk(node.right))
    return out


class _Context:
    def __init__(self, candles: Mapping[str, npt.ArrayLike], condition: Condition) -> None:
        self._series: dict[str, Floats] = {}
        length: int | None = None
        for name in sorted(condition.series):
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
        self.length = length
        self._numbers: dict[Node, Floats] = {}
        self._truths: dict[Node, Truth] = {}

    def number(self, node: Node) -> Floats:
        cached = self._numbers.get(node)
        if cached is None:
            cached = self._numbers[node] = self._compute_number(node)
        return cached

    def truth(self, node: Node) -> Truth:
        cached = self._truths.get(node)
        if cached is None:
            cached = self._truths[node] = self._compute_truth(node)
        return cached

    def _compute_number(self, node: Node) -> Floats:
        if isinstance(node, Number):
            return np.full(self.length, node.value)
        if isinstance(node, Series):
            return self._series[node.name]
        if isinstance(node, Unary):
            return np.negative(self.number(node.operand))
        if isinstance(node, Binary):
            return _ARITHMETIC[node.op](self.number(node.left), self.number(node.right))
        assert isinstance(node, Call)
        return self._indicator(node)

    def _indicator(self, node: Call) -> Floats:
        name = node.name
        series, ints = split_args(node)
        source = self._series.get("close") if series is None else self.number(series)
        if name == "atr":
            high, low, close = (self._series[k] for k in ("high", "low", "close"))
            return _floats(talib.ATR(high, low, close, timeperiod=ints[0]))
        assert source is not None
        if name.startswith("macd"):
            fast, slow, signal = ints[-3:]
            out = talib.MACD(source, fastperiod=fast, slowperiod=slow, signalperiod=signal)
            return _floats(out[("macd", "macd_signal", "macd_hist").index(name)])
        if name.startswith("bbands_"):
            k = float(node.args[2].value) if isinstance(node.args[2], Number) else 0.0
            out = talib.BBANDS(source, timeperiod=ints[0], nbdevup=k, nbdevdn=k)
            return _floats(out[("bbands_upper", "bbands_middle", "bbands_lower").index(name)])
        if name == "change":
            return _change(source, ints[0])
        return _floats(_SIMPLE[name](source, timeperiod=ints[0]))

    def _compute_truth(self, node: Node) -> Truth:
        if isinstance(node, Unary):
            true, false = self.truth(node.operand)
            return false, true
        if isinstance(node, Call):
            return self._cross(node)
        assert isinstance(node, Binary)
        if node.op in ("and", "or"):
            (lt, lf), (rt, rf) = self.truth(node.left), self.truth(node.right)
            if node.op == "and":
                return lt & rt, lf | rf
            return lt | rt, lf & rf
        left, right = self.number(node.left), self.number(node.right)
        defined = np.isfinite(left) & np.isfinite(right)
        result = _COMPARE[node.op](left, right)
        return defined & result, defined & ~result

    def _cross(self, node: Call) -> Truth:
        a, b = self.number(node.args[0]), self.number(node.args[1])
        true = np.zeros(self.length, dtype=np.bool_)
        false = np.zeros(self.length, dtype=np.bool_)
        if self.length > 1:
            now, before = slice(1, None), slice(None, -1)
            defined = np.isfinite(a[now]) & np.isfinite(b[now])
            defined &= np.isfinite(a[before]) & np.isfinite(b[before])
            if node.name == "crosses_above":
                crossed = (a[now] > b[now]) & (a[before] <= b[before])
            else:
                crossed = (a[now] < b[now]) & (a[before] >= b[before])
            true[now] = defined & crossed
            false[now] = defined & ~crossed
        return true, false


_SIMPLE: Mapping[str, Callable[..., Any]] = {
    "rsi": talib.RSI,
    "sma": talib.SMA,
    "ema": talib.EMA,
    "wma": talib.WMA,
    "stddev": talib.STDDEV,
    "roc": talib.ROC,
    "highest": talib.MAX,
    "lowest": talib.MIN,
}


def _floats(values: Any) -> Floats:
    return np.asarray(values, dtype=np.float64)


def _change(source: Floats, n: int) -> Floats:
    """Percent change over `n` candles: 100 * (x[t] / x[t - n] - 1)."""
    out = np.full(source.shape[0], np.nan)
    if source.shape[0] > n:
        out[n:] = (source[n:] / source[:-n] - 1.0) * 100.0
    return out
