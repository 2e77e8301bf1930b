"""BinanceSource against the local fake Binance: stream, gaps, REST backfill, limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fixtures.fake_binance import EXCHANGE_INFO, HISTORICAL_TRADES, STREAM, FakeBinance
from tests.fixtures.sinks import RecordingSink, running
from tickhub.marketdata.events import SourceState
from tickhub.marketdata.ingest.binance.source import BinanceSource, Gap
from tickhub.settings import BinanceSettings


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance() as server:
        yield server


def settings_for(fake: FakeBinance, **overrides: Any) -> BinanceSettings:
    values: dict[str, Any] = {
        "ws_url": fake.ws_url,
        "rest_url": fake.rest_url,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
    }
    return BinanceSettings(**(values | overrides))


def assert_batches_in_venue_order(sink: RecordingSink) -> None:
    for batch in sink.batches:
        ids = [t.trade_id for t in batch.trades]
        assert ids == sorted(set(ids)), f"batch out of order: {ids[:10]}"


async def test_drops_gaps_repeats_and_malformed_frames(fake: FakeBinance) -> None:
    sink = RecordingSink()
    source = BinanceSource(settings_for(fake), ["BTCUSDT", "ethusdt"])
    bad_trade = {"stream": "btcusdt@trade", "data": {"e": "trade", "s": "BTCUSDT", "t": "x"}}
    async with running(source, sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", range(1, 11))
        await fake.push("ETHUSDT", range(500, 505))
        await sink.wait_for_ids("BTCUSDT", range(1, 11))

        fake.record("BTCUSDT", range(11, 31))  # the stream skips these: only REST has them
        await fake.push("BTCUSDT", range(31, 36))
        await fake.send_raw(json.dumps({"result": None, "id": 1}))  # valid, not a trade
        await fake.send_raw("this is not json")
        await fake.send_raw(json.dumps(bad_trade))
        await fake.push("BTCUSDT", [33, 34, 35])  # repeated ids
        await fake.push("ETHUSDT", [505])  # frames are in order: after this, all were read
        await sink.wait_for_ids("ETHUSDT", [505])
        await sink.wait_for_ids("BTCUSDT", range(1, 36))

        await fake.drop_connections()
        fake.record("BTCUSDT", range(36, 51))  # traded while the connector was away
        await fake.wait_for_connections(2)
        await fake.push("BTCUSDT", range(51, 56))
        await fake.push("ETHUSDT", [506])
        await sink.wait_for_ids("BTCUSDT", range(1, 56))
        await sink.wait_for_ids("ETHUSDT", [506])

    assert sink.ids("BTCUSDT") == set(range(1, 56))
    assert sink.ids("ETHUSDT") == set(range(500, 507))
    assert_batches_in_venue_order(sink)
    assert {(b.symbol, b.base, b.quote) for b in sink.batches} == {
        ("BTCUSDT", "BTC", "USDT"),
        ("ETHUSDT", "ETH", "USDT"),
    }
    gets = [(r.params["fromId"], r.params["limit"]) for r in fake.requests_to(HISTORICAL_TRADES)]
    assert sorted(gets) == [("11", "20"), ("36", "15")]

    assert source.rejected == 2
    assert [r.source for r in sink.rejects] == ["binance", "binance"]
    assert "invalid JSON" in sink.rejects[0].error
    assert sink.rejects[0].raw == "this is not json"
    assert "'t'" in sink.rejects[1].error
    assert source.duplicates == 3
    assert source.trades_backfilled == 35
    assert source.connections == 2
    assert source.reconnects == 1
    assert source.open_gaps == []

    states = sink.states()
    assert states[:2] == [SourceState.CONNECTING, SourceState.CONNECTED]
    lost = [s for s in sink.statuses if s.state is SourceState.RECONNECTING]
    assert len(lost) == 1
    assert "connection closed" in lost[0].detail
    assert lost[0].last_trade_ts is not None
    assert states[-1] is SourceState.CONNECTED


async def test_429_retry_after_is_respected(fake: FakeBinance) -> None:
    fake.fail_next(HISTORICAL_TRADES, 429, retry_after=1)
    sink = RecordingSink()
    async with running(BinanceSource(settings_for(fake), ["BTCUSDT"]), sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", [1])
        await sink.wait_for_ids("BTCUSDT", [1])
        fake.record("BTCUSDT", range(2, 21))
        await fake.push("BTCUSDT", [21])
        await sink.wait_for_ids("BTCUSDT", range(1, 22), within_s=10)

    assert sink.ids("BTCUSDT") == set(range(1, 22))
    first, second = fake.requests_to(HISTORICAL_TRADES)
    assert (first.status, second.status) == (429, 200)
    assert second.params["fromId"] == "2"
    assert second.at - first.at >= 0.95  # Retry-After: 1


async def test_418_ban_is_reported_and_waited_out(fake: FakeBinance) -> None:
    fake.fail_next(HISTORICAL_TRADES, 418, retry_after=1)
    sink = RecordingSink()
    async with running(BinanceSource(settings_for(fake), ["BTCUSDT"]), sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", [1])
        fake.record("BTCUSDT", range(2, 6))
        await fake.push("BTCUSDT", [6])
        await sink.wait_for_ids("BTCUSDT", range(1, 7), within_s=10)

    first, second = fake.requests_to(HISTORICAL_TRADES)
    assert (first.status, second.status) == (418, 200)
    assert second.at - first.at >= 0.95
    banned = [s for s in sink.statuses if s.state is SourceState.OFFLINE]
    assert len(banned) == 1
    assert "418" in banned[0].detail
    assert sink.statuses[-1].state is SourceState.CONNECTED
    assert sink.statuses[-1].detail == "REST ban over"


async def test_resume_backfills_from_resume_point_page_by_page(fake: FakeBinance) -> None:
    fake.record("BTCUSDT", range(1, 2601))
    sink = RecordingSink()
    source = BinanceSource(settings_for(fake), ["BTCUSDT"], resume={"BTCUSDT": 100})
    async with running(source, sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", [2601, 99])  # 99: older than the resume point
        await sink.wait_for_ids("BTCUSDT", range(101, 2602))

    assert sink.ids("BTCUSDT") == set(range(101, 2602))
    pages = [(r.params["fromId"], r.params["limit"]) for r in fake.requests_to(HISTORICAL_TRADES)]
    assert pages == [("101", "1000"), ("1101", "1000"), ("2101", "500")]
    assert [len(b.trades) for b in sink.batches if len(b.trades) > 1] == [1000, 1000, 500]
    assert_batches_in_venue_order(sink)
    assert source.duplicates == 1


async def test_backfill_cap_leaves_the_oldest_part_open(fake: FakeBinance) -> None:
    sink = RecordingSink()
    source = BinanceSource(settings_for(fake, max_backfill_trades=25), ["BTCUSDT"])
    async with running(source, sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", [1])
        fake.record("BTCUSDT", range(2, 101))
        await fake.push("BTCUSDT", [101])
        await sink.wait_for_ids("BTCUSDT", range(76, 102))

    assert sink.ids("BTCUSDT") == {1} | set(range(76, 102))
    pages = [(r.params["fromId"], r.params["limit"]) for r in fake.requests_to(HISTORICAL_TRADES)]
    assert pages == [("76", "25")]
    assert source.open_gaps == [Gap("BTCUSDT", 2, 75)]
    assert source.trades_backfilled == 25


async def test_backfill_does_not_block_the_live_stream(fake: FakeBinance) -> None:
    sink = RecordingSink()
    async with running(BinanceSource(settings_for(fake), ["BTCUSDT"]), sink):
        await fake.wait_for_connections(1)
        fake.hold_rest()
        await fake.push("BTCUSDT", [1])
        fake.record("BTCUSDT", range(2, 11))
        await fake.push("BTCUSDT", [11])
        await fake.wait_for_requests(HISTORICAL_TRADES, 1)
        await fake.push("BTCUSDT", range(12, 16))
        await sink.wait_for_ids("BTCUSDT", [1, *range(11, 16)])
        assert sink.ids("BTCUSDT") == {1, *range(11, 16)}  # live went on, REST still held
        fake.release_rest()
        await sink.wait_for_ids("BTCUSDT", range(1, 16))

    assert sink.ids("BTCUSDT") == set(range(1, 16))


async def test_server_shutdown_notice_replaces_connection_before_closing_it(
    fake: FakeBinance,
) -> None:
    sink = RecordingSink()
    source = BinanceSource(settings_for(fake), ["BTCUSDT"])
    async with running(source, sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", [1])
        await sink.wait_for_ids("BTCUSDT", [1])
        await fake.send_raw(json.dumps({"event": {"e": "serverShutdown", "E": 1}}))
        await fake.wait_for_connections(2)
        old, new = fake.connections
        # The old connection reads on until the new one carries trades: nothing is lost.
        await fake.push("BTCUSDT", [2], only=old)
        await sink.wait_for_ids("BTCUSDT", [2])
        await fake.push("BTCUSDT", [3])  # both connections carry it
        await fake.wait_for(lambda: old.closed_at is not None)
        await fake.push("BTCUSDT", [4])
        await sink.wait_for_ids("BTCUSDT", [1, 2, 3, 4])

    assert fake.max_open == 2  # make-before-break
    assert fake.requests_to(HISTORICAL_TRADES) == []  # no gap to fill
    assert old.close_code == 1000  # closed by the client, cleanly
    assert old.closed_at is not None
    assert new.opened_at < old.closed_at
    assert sink.ids("BTCUSDT") == {1, 2, 3, 4}
    assert SourceState.RECONNECTING not in sink.states()
    assert source.reconnects == 0


async def test_connection_is_renewed_ahead_of_the_24h_cut(fake: FakeBinance) -> None:
    sink = RecordingSink()
    source = BinanceSource(settings_for(fake, reconnect_after_s=0.2), ["BTCUSDT"])
    async with running(source, sink):
        await fake.wait_for_connections(2)
        await fake.push("BTCUSDT", [1])
        await fake.wait_for(lambda: fake.connections[0].closed_at is not None)
        await sink.wait_for_ids("BTCUSDT", [1])

    assert fake.max_open >= 2
    assert fake.connections[0].close_code == 1000
    assert SourceState.RECONNECTING not in sink.states()


@pytest.mark.parametrize(
    ("exchange_info_up", "expected"),
    [
        (True, {"BNBBTC": ("BNB", "BTC"), "JUPSOL": ("JUP", "SOL")}),
        (False, {"BNBBTC": ("BNB", "BTC"), "JUPSOL": ("", "")}),  # split by known quotes
    ],
)
async def test_base_and_quote(
    fake: FakeBinance, exchange_info_up: bool, expected: dict[str, tuple[str, str]]
) -> None:
    fake.pairs = {"BNBBTC": ("BNB", "BTC"), "JUPSOL": ("JUP", "SOL")}
    if not exchange_info_up:
        fake.fail_next(EXCHANGE_INFO, 503, times=2)
    sink = RecordingSink()
    async with running(BinanceSource(settings_for(fake), ["BNBBTC", "JUPSOL"]), sink):
        await fake.wait_for_connections(1)
        await fake.push("BNBBTC", [7])
        await fake.push("JUPSOL", [8])
        await sink.wait_for(lambda: len(sink.batches) == 2)

    assert {b.symbol: (b.base, b.quote) for b in sink.batches} == expected
    assert [r.status for r in fake.requests_to(EXCHANGE_INFO)] == (
        [200] if exchange_info_up else [503, 503]
    )


async def test_failed_connects_back_off_and_report_reconnecting(fake: FakeBinance) -> None:
    fake.fail_next(STREAM, 503, times=2)
    sink = RecordingSink()
    async with running(BinanceSource(settings_for(fake), ["BTCUSDT"]), sink):
        await fake.wait_for_connections(1)
        await fake.push("BTCUSDT", [1])
        await sink.wait_for_ids("BTCUSDT", [1])

    assert [r.status for r in fake.requests_to(STREAM)] == [503, 503]
    assert sink.states() == [
        SourceState.CONNECTING,
        SourceState.RECONNECTING,
        SourceState.RECONNECTING,
        SourceState.CONNECTED,
    ]
    assert all("connect failed" in s.detail for s in sink.statuses[1:3])
