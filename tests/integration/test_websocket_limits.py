"""WebSocket limits: the size of a client's message, and open `/v1/stream` connections
per client address. Served as `tickhub api` serves the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.fixtures.served import served
from tickhub.settings import GatewaySettings, Settings


def _settings(tmp: Path, **gateway: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'tickhub.db'}",
        sources=[],
        gateway=GatewaySettings(_env_file=None, **gateway),
    )


async def test_a_message_over_the_size_limit_closes_the_stream(tmp_path: Path) -> None:
    async with served(_settings(tmp_path, ws_max_bytes=4096)) as port:
        async with connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=None) as ws:
            await ws.recv()  # the subscriptions
            await ws.send('{"op": "ping"}')
            assert "pong" in str(await ws.recv())
            await ws.send('{"op": "ping", "pad": "' + "x" * 8192 + '"}')
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


async def test_open_streams_are_capped_per_address(tmp_path: Path) -> None:
    url = "ws://127.0.0.1:{}/v1/stream"
    async with (
        served(_settings(tmp_path, stream_max_per_address=2)) as port,
        connect(url.format(port)) as a,
        connect(url.format(port)) as b,
    ):
        await a.recv()
        await b.recv()
        async with connect(url.format(port)) as c:
            with pytest.raises(ConnectionClosed) as closed:
                await c.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        assert "at most 2 streams per address" in closed.value.rcvd.reason
