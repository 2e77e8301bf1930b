"""The indicator functions a condition can call: their signatures (what each argument
must be), what they give, and how many leading candles each needs (its warm-up)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tickhub.alerts.language._tree import Binary, Call, Kind, Node, Number, Unary

MAX_PERIOD = 1_000
MAX_MULTIPLIER = 10.0

# Argument kinds: "series" is any numeric expression, "period" an integer literal within the
# function's bounds, "multiplier" a numeric literal in (0, MAX_MULTIPLIER].
ArgKind = Literal["series", "period", "multiplier"]


@dataclass(frozen=True, slots=True)
class Signature:
    params: tuple[ArgKind, ...]
    usage: str


@dataclass(frozen=True, slots=True)
class Function:
    signatures: tuple[Signature, ...]
    result: Kind = "number"
    min_period: int = 2

    def usage(self, name: str) -> str:
        return " or ".join(f"{name}({s.usage})" for s in self.signatures)


_S: ArgKind = "series"
_P: ArgKind = "period"
_M: ArgKind = "multiplier"
_SERIES_N = (Signature((_S, _P), "series, n"),)
_MACD = (
    Signature((_P, _P, _P), "fast, slow, signal"),
    Signature((_S, _P, _P, _P), "series, fast, slow, signal"),
)
_BBANDS = (Signature((_S, _P, _M), "series, n, k"),)
_CROSS = (Signature((_S, _S), "a, b"),)

FUNCTIONS: Mapping[str, Function] = {
    "rsi": Function((Signature((_P,), "n"), Signature((_S, _P), "series, n"))),
    "sma": Function(_SERIES_N),
    "ema": Function(_SERIES_N),
    "wma": Function(_SERIES_N),
    "macd": Function(_MACD),
    "macd_signal": Function(_MACD),
    "macd_hist": Function(_MACD),
    "bbands_upper": Function(_BBANDS),
    "bbands_middle": Function(_BBANDS),
    "bbands_lower": Function(_BBANDS),
    "atr": Function((Signature((_P,), "n"),), min_period=1),
    "stddev": Function(_SERIES_N),
    "roc": Function(_SERIES_N, min_period=1),
    "change": Function(_SERIES_N, min_period=1),
    "highest": Function(_SERIES_N),
    "lowest": Function(_SERIES_N),
    "crosses_above": Function(_CROSS, result="boolean"),
    "crosses_below": Function(_CROSS, result="boolean"),
}


def kind_of(node: Node) -> Kind:
    if isinstance(node, Call):
        return FUNCTIONS[node.name].result
    if isinstance(node, Unary):
        return "boolean" if node.op == "not" else "number"
    if isinstance(node, Binary):
        return "number" if node.op in "+-*/" else "boolean"
    return "number"


def period(node: Node) -> int:
    assert isinstance(node, Number)
    return int(node.value)


def split_args(node: Call) -> tuple[Node | None, tuple[int, ...]]:
    """The series argument (None when the call reads `close` or candles implicitly) and the
    integer parameters of a call, by position rather than by node type."""
    function = FUNCTIONS[node.name]
    if function.result == "boolean":
        return None, ()
    full = max(len(s.params) for s in function.signatures)
    has_series = node.name != "atr" and len(node.args) == full
    rest = node.args[1:] if has_series else node.args
    if node.name.startswith("bbands_"):
        rest = rest[:1]
    return (node.args[0] if has_series else None), tuple(period(a) for a in rest)


def warmup(node: Call) -> int:
    """Leading candles a call adds before its first defined value (TA-Lib's lookback)."""
    _, periods = split_args(node)
    name = node.name
    if name.startswith("macd"):
        fast, slow, signal = periods
        return max(fast, slow) - 1 + signal - 1
    if name in {"rsi", "atr", "roc", "change"}:
        return periods[0]
    if name.startswith("crosses_"):
        return 1
    return periods[0] - 1
