"""The tree a condition parses into: numbers, series, calls, unary and binary operations,
and the parsed `Condition` with what it needs to be evaluated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SERIES = frozenset({"open", "high", "low", "close", "volume", "vwap", "trade_count"})
# CoinMarketCap's global metrics, the same for every instrument, and a coin's listing
# fields (for `coinmarketcap:` instruments only): at each candle, the last value stored at
# or before its close, carried forward (the scanner reads them only when a condition
# names them).
MARKET_SERIES = frozenset(
    {"btc_dominance", "eth_dominance", "total_market_cap", "total_volume_24h",
     "active_cryptocurrencies"}
)  # fmt: skip
LISTING_SERIES = frozenset({"market_cap", "percent_change_24h", "cmc_rank"})
NAMES = SERIES | MARKET_SERIES | LISTING_SERIES

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
