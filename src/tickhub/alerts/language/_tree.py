"""The tree a condition parses into: numbers, series, calls, unary and binary operations,
and the parsed `Condition` with what it needs to be evaluated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SERIES = frozenset({"open", "high", "low", "close", "volume", "vwap", "trade_count"})

Kind = Literal["number", "boolean"]


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: Literal["-", "not"]
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node
    position: int = field(default=0, compare=False)


Node = Number | Series | Call | Unary | Binary


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed, type-checked condition.

    `lookback` is the number of candles needed before the last row can be defined: the
    warm-up of every indicator along the deepest chain, plus the current candle.
    """

    source: str
    root: Node
    lookback: int
    series: frozenset[str]


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    return ()
