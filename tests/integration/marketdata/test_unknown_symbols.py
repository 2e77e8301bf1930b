"""A configured symbol the venue does not list is reported at start-up with the venue's
near matches and not subscribed (Binance here; Coinbase and ccxt in their own tests)."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from tests.fixtures.fake_binance import EXCHANGE_INFO, FakeBinance
from tests.fixtures.sinks import RecordingSink
from tickhub.marketdata.events import SourceState
from tickhub.marketdata.ingest.binance.source import BinanceSource
from tickhub.settings import BinanceSettings


async def test_binance_names_unknown_symbols_and_near_matches() -> None:
    async with FakeBinance() as fake:
        settings = BinanceSettings(
            ws_url=fake.ws_url, rest_url=fake.rest_url, backoff_initial_s=0.01, backoff_max_s=0.05
        )
        source = BinanceSource(settings, ["BTCUSDT", "BTCUSDTT", "XYZABC"])
        sink = RecordingSink()
        task = asyncio.create_task(source.run(sink))
        try:
            await fake.wait_for_connections(1)
            await fake.push("BTCUSDT", [1])
            await sink.wait_for_ids("BTCUSDT", [1])
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        assert fake.connections[0].streams == frozenset({"btcusdt@trade"})
        calls = fake.requests_to(EXCHANGE_INFO)
        assert [r.status for r in calls] == [400, 200]
        assert "symbols" not in calls[1].params  # the whole listing, once
    assert source.unknown_symbols["BTCUSDTT"][0] == "BTCUSDT"
    assert source.unknown_symbols["XYZABC"] == []
    connected = next(s for s in sink.statuses if s.state is SourceState.CONNECTED)
    assert "BTCUSDTT (near: BTCUSDT" in connected.detail
    assert "XYZABC (near: none)" in connected.detail
