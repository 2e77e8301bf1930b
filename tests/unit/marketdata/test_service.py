"""The market-data read services on an in-memory store (`tests/fixtures/fake_marketdata`):
instrument resolution, prices, trade pages, candles, statistics, coverage, the seed
reads, the scanner's closed candles and the CoinMarketCap history. No database."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from statistics import median, pstdev

import pytest

from tests.fixtures.fake_marketdata import FakeMarketData
from tickhub.marketdata import service
from tickhub.marketdata.coinmarketcap import service as cmc_service
from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing, Trade
from tickhub.marketdata.store.candles import HOUR, MINUTE, parse_interval
from tickhub.marketdata.store.repository import InstrumentInfo

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
S = 1_000_000


async def refused(call: Awaitable[object]) -> tuple[str | None, str]:
    """The field and message of the domain error `call` raises."""
    with pytest.raises(Exception) as info:  # any kind: which one is the error model's
        await call
    return info.value.field, info.value.message  # type: ignore[attr-defined]


def minute_trades(first_id: int, minutes: int, per_minute: int = 3) -> list[Trade]:
    """`per_minute` trades in each minute from T0, prices rising by 1 a trade."""
    out: list[Trade] = []
    for m in range(minutes):
        for k in range(per_minute):
            n = m * per_minute + k
            out.append(Trade(first_id + n, T0 + m * MINUTE + k * 10 * S, 100.0 + n, 1.0 + k))
    return out


@pytest.fixture
def md() -> FakeMarketData:
    return FakeMarketData()


@pytest.fixture
def btc(md: FakeMarketData) -> InstrumentInfo:
    return md.reads.add_instrument("binance", "BTCUSDT", "BTC", "USDT", country="Malta")


@pytest.fixture
def sim_btc(md: FakeMarketData) -> InstrumentInfo:
    return md.reads.add_instrument("sim", "BTCUSDT", "BTC", "USDT", simulated=True)


# ------------------------------------------------------------------ instruments


async def test_an_instrument_is_found_by_either_spelling_live_before_simulated(
    md: FakeMarketData, sim_btc: InstrumentInfo, btc: InstrumentInfo
) -> None:
    assert await service.resolve_instrument(md, "BTCUSDT") == btc
    assert await service.resolve_instrument(md, "btc-usdt") == btc
    assert await service.resolve_instrument(md, "BTC/USDT", "sim") == sim_btc
    assert await refused(service.resolve_instrument(md, "DOGEUSDT")) == (
        "symbol",
        "unknown instrument 'DOGEUSDT'",
    )
    assert await refused(service.resolve_instrument(md, " - ")) == ("symbol", "symbol is required")


async def test_an_unknown_exchange_names_the_known_ones(
    md: FakeMarketData, btc: InstrumentInfo, sim_btc: InstrumentInfo
) -> None:
    assert await service.find_instrument(md, "BTCUSDT", "SIM") == sim_btc
    assert await refused(service.find_instrument(md, "BTCUSDT", "kraken")) == (
        "exchange",
        "unknown exchange 'kraken' (known: binance, sim)",
    )
    assert [e.name for e in await service.exchanges(md)] == ["binance", "sim"]
    assert [i.exchange for i in await service.exchange_instruments(md, "Binance")] == ["binance"]


# ------------------------------------------------------------------ prices and trades


async def test_prices_are_the_newest_trade_of_each_instrument_that_has_one(
    md: FakeMarketData, btc: InstrumentInfo, sim_btc: InstrumentInfo
) -> None:
    eth = md.reads.add_instrument("binance", "ETHUSDT", "ETH", "USDT")
    md.reads.add_trades(btc, [Trade(2, T0 + 5 * S, 101.0, 1.0), Trade(1, T0, 100.0, 1.0)])
    md.reads.add_trades(sim_btc, [Trade(7, T0, 99.0, 1.0)])
    assert [(p.instrument.exchange, p.price) for p in await service.prices(md)] == [
        ("binance", 101.0),
        ("sim", 99.0),
    ]
    only = await service.prices(md, exchange="binance", symbol="BTC-USDT")
    assert [(p.instrument.symbol, p.trade_id) for p in only] == [("BTCUSDT", 2)]
    assert (await service.price(md, "binance", "BTCUSDT")).ts == T0 + 5 * S
    assert await refused(service.price(md, "binance", "ETHUSDT")) == (
        "symbol",
        f"no trade of binance:{eth.symbol} yet",
    )


async def test_trade_pages_hold_each_trade_once_and_end_without_a_cursor(
    md: FakeMarketData, btc: InstrumentInfo
) -> None:
    trades = minute_trades(1, 4)  # 12 trades
    md.reads.add_trades(btc, trades)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await service.trades_page(
            md, btc, start=T0, end=T0 + 3 * MINUTE, limit=4, cursor=cursor
        )
        seen += [t.trade_id for t in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [t.trade_id for t in trades[:9]]  # end is exclusive
    assert pages == 3
    assert await refused(service.trades_page(md, btc, start=T0 + 1, end=T0, limit=4)) == (
        "start",
        "start must not be after end",
    )


# ------------------------------------------------------------------ candles and statistics


async def test_candles_fold_the_rollups_into_any_interval(
    md: FakeMarketData, btc: InstrumentInfo
) -> None:
    md.reads.add_trades(btc, minute_trades(1, 10))  # prices 100..129
    five = await service.candle_series(
        md, btc, parse_interval("5m"), start=T0, end=None, limit=2, now=T0 + HOUR
    )
    assert [(c.start, c.open, c.high, c.low, c.close, c.volume, c.trade_count) for c in five] == [
        (T0, 100.0, 114.0, 100.0, 114.0, 30.0, 15),
        (T0 + 5 * MINUTE, 115.0, 129.0, 115.0, 129.0, 30.0, 15),
    ]
    newest = await service.candle_series(
        md, btc, parse_interval("1m"), start=None, end=T0 + 10 * MINUTE, limit=3, now=T0
    )
    assert [c.start for c in newest] == [T0 + m * MINUTE for m in (7, 8, 9)]
    assert await refused(service.candles(md, btc, parse_interval("1m"), T0, T0)) == (
        "start",
        "start must be before end",
    )


async def test_statistics_of_a_window(md: FakeMarketData, btc: InstrumentInfo) -> None:
    trades = minute_trades(1, 2)  # six trades, prices 100..105
    md.reads.add_trades(btc, trades)
    stats = await service.window_statistics(md, btc, T0, T0 + 2 * MINUTE)
    prices = [t.price for t in trades]
    volume = sum(t.qty for t in trades)
    assert (stats.count, stats.open, stats.close, stats.high, stats.low) == (6, 100, 105, 105, 100)
    assert stats.median == median(prices)
    assert stats.std is not None and math.isclose(stats.std, pstdev(prices))
    assert stats.vwap is not None
    assert math.isclose(stats.vwap, sum(t.price * t.qty for t in trades) / volume)
    assert stats.change_pct == pytest.approx(5.0)
    empty = await service.window_statistics(md, btc, T0 + HOUR, T0 + HOUR)
    assert (empty.count, empty.open, empty.volume) == (0, None, 0.0)


async def test_coverage_names_the_gaps(md: FakeMarketData, btc: InstrumentInfo) -> None:
    md.reads.add_trades(btc, [Trade(i, T0 + i * S, 1.0, 1.0) for i in (1, 2, 3, 7, 8, 12)])
    ranges, gaps = await service.coverage(md, btc)
    assert [(r.first_id, r.last_id) for r in ranges] == [(1, 3), (7, 8), (12, 12)]
    assert [(g.first_id, g.last_id) for g in gaps] == [(4, 6), (9, 11)]


# ------------------------------------------------------------------ the scanner's read


async def test_closed_candles_are_bare_rows_stored_or_folded(
    md: FakeMarketData, btc: InstrumentInfo
) -> None:
    md.reads.add_trades(btc, minute_trades(1, 10))
    close = T0 + 10 * MINUTE
    rows = await service.closed_candles(md, btc, parse_interval("1m"), close=close, limit=3)
    assert md.reads.calls[-1] == "rollup_columns"  # a rollup interval is read as stored
    assert rows == [
        (T0 + m * MINUTE, 100.0 + 3 * m, 102.0 + 3 * m, 100.0 + 3 * m, 102.0 + 3 * m, 6.0,
         (100.0 + 3 * m) * 1 + (101.0 + 3 * m) * 2 + (102.0 + 3 * m) * 3, 3)
        for m in (7, 8, 9)
    ]  # fmt: skip
    folded = await service.closed_candles(md, btc, parse_interval("5m"), close=close, limit=5)
    assert md.reads.calls[-1] == "candles"
    assert [(*r[:5], r[7]) for r in folded] == [
        (T0, 100.0, 114.0, 100.0, 114.0, 15),
        (T0 + 5 * MINUTE, 115.0, 129.0, 115.0, 129.0, 15),
    ]


# ------------------------------------------------------------------ seed reads


async def test_seed_reads(md: FakeMarketData, btc: InstrumentInfo, sim_btc: InstrumentInfo) -> None:
    md.reads.add_instrument("binance", "ETHBTC", "ETH", "BTC")
    md.reads.add_asset("BTC", "Bitcoin")
    md.reads.add_asset("ETH", "Ethereum")
    md.reads.add_asset("USDT", "Tether")
    md.reads.add_trades(btc, minute_trades(1, 2))
    md.reads.add_trades(sim_btc, [Trade(1, T0 + 5 * S, 1.0, 1.0)])
    assert await service.coin_assets(md) == [("Bitcoin", "BTC"), ("Ethereum", "ETH")]
    assert await service.exchange_countries(md) == [("binance", "Malta"), ("sim", None)]
    tickers = await service.coin_tickers(md, "bitcoin", "BINANCE")
    assert [(t.ticker, t.coin) for t in tickers] == [("BTCUSDT", "Bitcoin")]
    assert await service.coin_tickers(md, "dogecoin", "binance") == []
    markets = await service.market_instruments(md)
    assert [(i.exchange, i.symbol) for i in markets] == [
        ("binance", "BTCUSDT"),
        ("binance", "ETHBTC"),
    ]
    assert await service.collection_start(md, [btc, sim_btc]) == T0
    count, page = await service.price_page(md, [btc, sim_btc], T0, None, offset=1, limit=2)
    assert count == 7
    assert [(p.instrument.exchange, p.trade.trade_id) for p in page] == [("sim", 1), ("binance", 2)]
    minutes = await service.recent_minutes(md, btc, T0, T0 + 2 * MINUTE - 1, limit=5)
    assert [c.start for c in minutes] == [T0 + MINUTE, T0]  # newest first
    series = await service.price_series(md, btc, T0 + MINUTE, None)
    assert [t.trade_id for t in series] == [4, 5, 6]


async def test_recent_minutes_reads_no_span_after_the_last_trade(
    md: FakeMarketData, btc: InstrumentInfo
) -> None:
    # seed 001's history over a year ending long after the last trade: the spans between
    # the last trade and `end` hold nothing, so none is read (each was a rollup query)
    md.reads.add_trades(btc, minute_trades(1, 3))
    reads: list[int] = []
    for end in (T0 + 3 * MINUTE, T0 + 365 * 24 * HOUR):
        md.reads.calls.clear()
        minutes = await service.recent_minutes(md, btc, T0 - 365 * 24 * HOUR, end, limit=10_000)
        assert [c.start for c in minutes] == [T0 + 2 * MINUTE, T0 + MINUTE, T0]
        reads.append(sum(1 for c in md.reads.calls if not c.endswith("covered_ts")))
    assert reads[1] == reads[0] == 1


# ------------------------------------------------------------------ CoinMarketCap


def listing(cmc_id: int, symbol: str, rank: int | None) -> CmcListing:
    return CmcListing(cmc_id, symbol, symbol.title(), symbol.lower(), rank, 1.0, None, None,
                      None, None, None, None, None, None, T0)  # fmt: skip


async def test_coinmarketcap_listings_and_history(md: FakeMarketData) -> None:
    for minute in range(3):
        md.cmc.add_listings(T0 + minute * MINUTE, [listing(1, "BTC", 1), listing(2, "ETH", 2)])
    md.cmc.add_listings(T0 + 3 * MINUTE, [listing(99, "NEW", None), listing(1, "BTC", 1)])
    latest = await cmc_service.latest_listings(md)
    assert [s.listing.symbol for s in latest] == ["BTC", "NEW"]  # by rank, unranked last
    assert (await cmc_service.find_coin(md, "eth")).listing.cmc_id == 2
    assert (await cmc_service.find_coin(md, "1")).minute == T0 + 3 * MINUTE
    assert await refused(cmc_service.find_coin(md, "DOGE")) == (
        "coin",
        "no CoinMarketCap listing of 'DOGE' stored",
    )
    history = await cmc_service.listing_history(md, "BTC", start=T0, end=T0 + HOUR, limit=3)
    assert [s.minute for s in history.items] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert history.next_start == T0 + 2 * MINUTE + 1
    rest = await cmc_service.listing_history(
        md, "BTC", start=history.next_start, end=T0 + HOUR, limit=3
    )
    assert ([s.minute for s in rest.items], rest.next_start) == ([T0 + 3 * MINUTE], None)


async def test_coinmarketcap_global_metrics(md: FakeMarketData) -> None:
    assert await refused(cmc_service.latest_global_or_404(md)) == (
        "global_metrics",
        "no CoinMarketCap global metrics stored yet",
    )
    for minute in range(3):
        md.cmc.add_global(CmcGlobalMetrics(T0 + minute * MINUTE, "USD", 9000 + minute, 55.0,
                                           17.0, None, None, T0))  # fmt: skip
    assert (await cmc_service.latest_global_or_404(md)).active_cryptocurrencies == 9002
    page = await cmc_service.global_history(md, start=T0, end=T0 + HOUR, limit=2)
    assert ([m.minute for m in page.items], page.next_start) == (
        [T0, T0 + MINUTE],
        T0 + MINUTE + 1,
    )
    assert cmc_service.window(None, None, T0 + HOUR) == (T0 + HOUR - 24 * HOUR, T0 + HOUR)
