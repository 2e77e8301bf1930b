"""Which instruments a live client asked for: `exchange:SYMBOL`, `exchange:*` or `*`."""

from __future__ import annotations

from dataclasses import dataclass

from tickhub.marketdata.ingest.normalize import compact_symbol


@dataclass(frozen=True, slots=True)
class Selector:
    """`exchange:SYMBOL`, `exchange:*` or `*`; the symbol in either spelling."""

    exchange: str  # lower case, or "*"
    symbol: str  # compact upper case (`BTCUSDT`), or "*"

    def matches(self, exchange: str, symbol: str) -> bool:
        """`exchange` lower case and `symbol` compact, as the hub passes them."""
        return (self.exchange in {"*", exchange}) and (self.symbol in {"*", symbol})

    def __str__(self) -> str:
        if self.exchange == "*" and self.symbol == "*":
            return "*"
        return f"{self.exchange}:{self.symbol}"


def parse_selector(text: str) -> Selector:
    s = text.strip()
    if s == "*":
        return Selector("*", "*")
    exchange, sep, symbol = s.partition(":")
    exchange = exchange.strip().lower()
    symbol = "*" if symbol.strip() == "*" else compact_symbol(symbol)
    if not sep or not exchange or not symbol or not exchange.replace("_", "").isalnum():
        raise ValueError(f"invalid instrument {text!r}: use exchange:SYMBOL, exchange:* or *")
    return Selector(exchange, symbol)
