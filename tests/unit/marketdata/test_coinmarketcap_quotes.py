"""Minute prices from CoinMarketCap quotes: which coins, which instrument, which trade."""

from __future__ import annotations

from tickhub.marketdata.coinmarketcap.source import quote_trades
from tickhub.marketdata.events import CmcListing, TradeBatch

MINUTE_US = 60_000_000
T = 29_500_000 * MINUTE_US + 31_250_000  # 31.25 s into epoch minute 29,500,000


def coin(cmc_id: int, symbol: str, price: float | None, rank: int | None = 1) -> CmcListing:
    return CmcListing(
        cmc_id, symbol, symbol.title(), symbol.lower(), rank, price,
        None, None, None, None, None, None, None, None, T,
    )  # fmt: skip


def by_symbol(batches: list[TradeBatch]) -> dict[str, TradeBatch]:
    return {b.symbol: b for b in batches}


def test_untraded_coins_become_one_zero_size_trade_per_minute() -> None:
    listed = [coin(1, "BTC", 60_000.0), coin(5426, "SOL", 151.25), coin(74, "doge", 0.125)]
    batches = by_symbol(quote_trades(listed, "usd", frozenset({"BTC", "ETH"})))
    assert set(batches) == {"SOLUSD", "DOGEUSD"}
    sol = batches["SOLUSD"]
    assert (sol.exchange, sol.base, sol.quote) == ("coinmarketcap", "SOL", "USD")
    assert sol.simulated is False
    (trade,) = sol.trades
    assert (trade.trade_id, trade.ts, trade.price, trade.qty) == (29_500_000, T, 151.25, 0.0)


def test_shared_symbols_unusable_symbols_and_missing_prices() -> None:
    listed = [
        coin(99999, "UNI", 0.001, rank=900),
        coin(7083, "UNI", 7.5, rank=20),
        coin(1, "W.X", 1.0),
        coin(2, "ÄÖ", 1.0),
        coin(3, "NOPRICE", None),
        coin(4, "ZERO", 0.0),
        coin(5, "UNRANKED", 2.0, rank=None),
    ]
    batches = by_symbol(quote_trades(listed, "EUR", frozenset()))
    assert set(batches) == {"UNIEUR", "UNRANKEDEUR"}
    assert batches["UNIEUR"].trades[0].price == 7.5  # the best ranked of the two
