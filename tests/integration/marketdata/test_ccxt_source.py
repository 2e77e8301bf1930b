"""CcxtSource through ccxt's own coinbaseexchange class, its `urls` pointed at the local
fake Coinbase Exchange: polling, watching, a dropped feed, 429 with `Retry-After`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fixtures.fake_coinbase import FakeCoinbase, trades_path
from tests.fixtures.sinks import RecordingSink, running
from tickhub.marketdata.events import SourceState
from tickhub.marketdata.ingest.ccxt import CcxtSource, make_exchange
from tickhub.settings import CcxtSettings

BTC = "BTC-USD"


@pytest.fixture
async def fake() -> AsyncIterator[FakeCoinbase]:
    async with FakeCoinbase() as server:
        yield server


def source_for(fake: FakeCoinbase, symbols: list[str], **overrides: Any) -> CcxtSource:
    values: dict[str, Any] = {
        "poll_interval_s": 0.02,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "urls": {"public": fake.rest_url, "private": fake.rest_url, "ws": fake.ws_url},
    }
    settings = CcxtSettings(**(values | overrides))
    return CcxtSource(settings, "coinbaseexchange", symbols, resume=overrides.get("resume"))


def stored(sink: RecordingSink) -> list[int]:
    return sorted(t.trade_id for b in sink.batches for t in b.trades)


def test_the_rate_limiter_is_on_and_urls_point_at_the_fake() -> None:
    exchange = make_exchange("coinbaseexchange", {"public": "http://127.0.0.1:1"})
    assert exchange.enableRateLimit is True
    assert exchange.urls["api"]["public"] == "http://127.0.0.1:1"
    with pytest.raises(ValueError, match="near: coinbaseexchange"):
        make_exchange("coinbaseexchang")


async def test_polling_takes_every_trade_once_and_honours_retry_after(fake: FakeCoinbase) -> None:
    fake.record(BTC, range(1, 11))
    sink = RecordingSink()
    source = source_for(fake, ["BTC/USD", "BTC/USDD"], websocket=False)
    async with running(source, sink):
        await sink.wait_for_ids("BTCUSD", range(1, 11))
        fake.fail_next(trades_path(BTC), 429, retry_after=0.1)
        fake.record(BTC, range(11, 21))
        await sink.wait_for_ids("BTCUSD", range(1, 21))
    assert stored(sink) == list(range(1, 21))  # polled many times, each trade once
    assert {(b.exchange, b.symbol, b.base, b.quote) for b in sink.batches} == {
        ("coinbaseexchange", "BTCUSD", "BTC", "USD")
    }
    assert 429 in [r.status for r in fake.requests_to(trades_path(BTC))]
    assert source.errors >= 1
    assert source.unknown_symbols["BTC/USDD"][:2] == ["BTC/USD", "BTC/USDT"]
    assert any("rate limit" in s.detail and "retry in 0.1s" in s.detail for s in sink.statuses)
    # ccxt's unified side is the taker's; the fake's odd ids are maker `sell` = taker buy
    by_id = {t.trade_id: t for b in sink.batches for t in b.trades}
    assert (by_id[3].is_buyer_maker, by_id[4].is_buyer_maker) == (False, True)


async def test_a_restart_resumes_after_the_last_stored_id(fake: FakeCoinbase) -> None:
    fake.record(BTC, range(1, 31))
    sink = RecordingSink()
    async with running(source_for(fake, ["BTC/USD"], websocket=False, resume={"BTCUSD": 20}), sink):
        await sink.wait_for_ids("BTCUSD", range(21, 31))
    assert stored(sink) == list(range(21, 31))


async def test_watching_then_a_dropped_feed_is_filled_over_rest(fake: FakeCoinbase) -> None:
    fake.record(BTC, range(1, 6))
    sink = RecordingSink()
    source = source_for(fake, ["BTC/USD"])
    assert source.watching
    async with running(source, sink):
        await sink.wait_for_ids("BTCUSD", range(1, 6))  # the first poll
        await fake.wait_for_subscriptions(1)
        await fake.push(BTC, range(6, 9))
        await sink.wait_for_ids("BTCUSD", range(6, 9))
        await fake.drop_connections()
        fake.record(BTC, range(9, 15))  # missed while the feed was down
        await fake.wait_for_subscriptions(2)
        await fake.push(BTC, [15, 16])
        await sink.wait_for_ids("BTCUSD", range(1, 17))
    assert stored(sink) == list(range(1, 17))
    assert source.trades_live >= 1
    assert SourceState.RECONNECTING in sink.states()
