"""CoinbaseSource against the local fake Coinbase Exchange: feed, gaps, heartbeats, REST."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fixtures.fake_coinbase import PRODUCTS, FakeCoinbase, trades_path
from tests.fixtures.sinks import RecordingSink, running
from tickhub.marketdata.events import SourceState
from tickhub.marketdata.ingest.coinbase import CoinbaseSource
from tickhub.marketdata.ingest.engine import Gap
from tickhub.settings import CoinbaseSettings

BTC = "BTC-USD"
ETH = "ETH-USD"


@pytest.fixture
async def fake() -> AsyncIterator[FakeCoinbase]:
    async with FakeCoinbase() as server:
        yield server


def settings_for(fake: FakeCoinbase, **overrides: Any) -> CoinbaseSettings:
    values: dict[str, Any] = {
        "ws_url": fake.ws_url,
        "rest_url": fake.rest_url,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
    }
    return CoinbaseSettings(**(values | overrides))


def every_trade_once(sink: RecordingSink, symbol: str) -> list[int]:
    return sorted(t.trade_id for b in sink.batches if b.symbol == symbol for t in b.trades)


async def test_feed_gaps_heartbeats_repeats_malformed_and_reconnects(fake: FakeCoinbase) -> None:
    sink = RecordingSink()
    source = CoinbaseSource(settings_for(fake), ["btc-usd", "ETH/USD"])
    async with running(source, sink):
        await fake.wait_for_subscriptions(1)
        assert fake.subscribe_messages[0] == {
            "type": "subscribe",
            "product_ids": [BTC, ETH],
            "channels": ["matches", "heartbeat"],
        }
        await fake.push(BTC, range(1, 11))
        await fake.push(ETH, range(500, 503))
        await sink.wait_for_ids("BTCUSD", range(1, 11))

        fake.record(BTC, range(11, 31))  # skipped by the feed: only REST has them
        await fake.push(BTC, range(31, 34))
        await fake.send_raw("not json")
        await fake.send_raw(json.dumps({"type": "match", "product_id": BTC, "trade_id": "x"}))
        await fake.send_raw(json.dumps({"type": "l2update", "product_id": BTC}))  # ignored
        await fake.push(BTC, [32, 33])  # repeated
        fake.record(ETH, range(503, 508))  # the feed missed these; the heartbeat tells
        await fake.heartbeat(ETH)
        await sink.wait_for_ids("BTCUSD", range(1, 34))
        await sink.wait_for_ids("ETHUSD", range(500, 508))

        await fake.drop_connections()
        fake.record(BTC, range(34, 51))  # traded while the connector was away
        await fake.wait_for_subscriptions(2)  # on subscribing, `last_match` (50) shows the gap
        await sink.wait_for_ids("BTCUSD", range(1, 51))

    assert every_trade_once(sink, "BTCUSD") == list(range(1, 51))
    assert every_trade_once(sink, "ETHUSD") == list(range(500, 508))
    assert {(b.exchange, b.symbol, b.base, b.quote) for b in sink.batches} == {
        ("coinbase", "BTCUSD", "BTC", "USD"),
        ("coinbase", "ETHUSD", "ETH", "USD"),
    }
    pages = [(r.params["after"], r.params["limit"]) for r in fake.requests_to(trades_path(BTC))]
    assert sorted(pages) == [("31", "20"), ("50", "16")]
    assert source.rejected == 2
    assert source.duplicates == 3  # 32, 33, and ETH-USD's `last_match` (507) on resubscribing
    assert source.reconnects == 1
    assert source.heartbeats == 1
    assert source.open_gaps == []
    assert SourceState.RECONNECTING in sink.states()


async def test_taker_side_is_stored_consistently(fake: FakeCoinbase) -> None:
    sink = RecordingSink()
    async with running(CoinbaseSource(settings_for(fake), [BTC]), sink):
        await fake.wait_for_subscriptions(1)
        await fake.push(BTC, [2, 3])  # the fake's side: even ids `buy`, odd ids `sell`
        await sink.wait_for_ids("BTCUSD", [2, 3])
    by_id = {t.trade_id: t for b in sink.batches for t in b.trades}
    # maker side `buy` -> the buyer was the maker (taker sold); `sell` -> the taker bought
    assert by_id[2].is_buyer_maker is True
    assert by_id[3].is_buyer_maker is False
    assert by_id[2].ts == 1_700_000_000_000_000 + 2_000 + 2  # 2023-11-14T22:13:20.002002Z


async def test_429_retry_after_is_honoured_and_nothing_is_lost(fake: FakeCoinbase) -> None:
    fake.fail_next(trades_path(BTC), 429, retry_after=0.2, times=2)
    sink = RecordingSink()
    source = CoinbaseSource(settings_for(fake), [BTC])
    async with running(source, sink):
        await fake.wait_for_subscriptions(1)
        await fake.push(BTC, [1])
        fake.record(BTC, range(2, 2501))  # three pages of 1000, 1000, 499
        await fake.push(BTC, [2501])
        await sink.wait_for_ids("BTCUSD", range(1, 2502))
    statuses = [r.status for r in fake.requests_to(trades_path(BTC))]
    assert statuses == [429, 429, 200, 200, 200]
    assert every_trade_once(sink, "BTCUSD") == list(range(1, 2502))


async def test_restart_resumes_from_the_last_stored_id_on_a_heartbeat(fake: FakeCoinbase) -> None:
    fake.send_last_match = False  # only the heartbeat can tell what was missed
    fake.record(BTC, range(1, 41))
    sink = RecordingSink()
    source = CoinbaseSource(settings_for(fake), [BTC], resume={"BTCUSD": 25})
    async with running(source, sink):
        await fake.wait_for_subscriptions(1)
        await fake.heartbeat(BTC)
        await sink.wait_for_ids("BTCUSD", range(26, 41))
    assert every_trade_once(sink, "BTCUSD") == list(range(26, 41))


async def test_gap_beyond_the_cap_stays_open_and_is_said(fake: FakeCoinbase) -> None:
    sink = RecordingSink()
    source = CoinbaseSource(settings_for(fake, max_backfill_trades=10), [BTC])
    async with running(source, sink):
        await fake.wait_for_subscriptions(1)
        await fake.push(BTC, [1])
        fake.record(BTC, range(2, 50))
        await fake.push(BTC, [50])
        await sink.wait_for_ids("BTCUSD", range(40, 51))
    assert source.open_gaps == [Gap(BTC, 2, 39)]


async def test_unknown_products_are_reported_with_near_matches(fake: FakeCoinbase) -> None:
    sink = RecordingSink()
    source = CoinbaseSource(settings_for(fake), [BTC, "BTC-USDD", "DOGE-XYZ"])
    async with running(source, sink):
        await fake.wait_for_subscriptions(1)
        await sink.wait_for(lambda: SourceState.CONNECTED in sink.states())
    assert fake.subscribe_messages[0]["product_ids"] == [BTC]
    assert source.unknown_symbols["BTC-USDD"][:2] == ["BTC-USD", "BTC-USDT"]
    assert source.unknown_symbols["DOGE-XYZ"] == []
    detail = next(s.detail for s in sink.statuses if s.state is SourceState.CONNECTED)
    assert "BTC-USDD (near: BTC-USD" in detail
    assert "DOGE-XYZ (near: none)" in detail
    assert fake.requests_to(PRODUCTS)


async def test_a_silent_client_is_cut_by_the_venue(fake: FakeCoinbase) -> None:
    """The fake enforces Coinbase's rule; the source subscribes on every connection."""
    fake.subscribe_within_s = 0.5
    sink = RecordingSink()
    async with running(CoinbaseSource(settings_for(fake), [BTC]), sink):
        await fake.wait_for_subscriptions(1)
        await fake.drop_connections()
        await fake.wait_for_subscriptions(2)
    assert len(fake.connections) == 2
