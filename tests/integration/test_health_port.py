"""`/healthz` and `/readyz` of the services without a web app, on their own port."""

from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.local_http import closed_port
from tickhub.bootstrap import database_check, health_port, tracker_checks
from tickhub.bus.memory import MemoryBus
from tickhub.common.health import HealthServer
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.settings import Settings


async def probe(server: HealthServer, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        return await client.get(path)


async def test_a_writer_or_scanner_is_ready_when_its_database_answers(engine: AsyncEngine) -> None:
    server = HealthServer({"database": database_check(engine)}, host="127.0.0.1", port=0)
    await server.start()
    try:
        assert (await probe(server, "/healthz")).json() == {"status": "ok"}
        r = await probe(server, "/readyz")
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "checks": {"database": "ok"}}
        assert (await probe(server, "/nope")).status_code == 404
    finally:
        await server.close()


async def test_not_ready_when_the_database_is_away() -> None:
    away = create_engine(f"postgresql://tickhub@127.0.0.1:{closed_port()}/none")
    server = HealthServer({"database": database_check(away)}, host="127.0.0.1", port=0)
    await server.start()
    try:
        assert (await probe(server, "/healthz")).status_code == 200  # alive all the same
        r = await probe(server, "/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["database"].startswith("error: ")
    finally:
        await server.close()
        await away.dispose()


class OutageBus(MemoryBus):
    down = True

    async def publish(self, topic: str, message: object) -> None:
        if self.down:
            raise ConnectionError("broker down")
        await super().publish(topic, message)


async def test_a_tracker_is_not_ready_while_the_bus_refuses_or_its_buffer_is_full() -> None:
    bus = OutageBus()
    tracker = Tracker(bus, max_trades=1, max_delay_s=60, max_buffered=1)
    server = HealthServer(tracker_checks(tracker), host="127.0.0.1", port=0)
    await server.start()
    try:
        assert (await probe(server, "/readyz")).status_code == 200
        await tracker.trades(TradeBatch("x", "S", (Trade(1, 1, 1.0, 1.0),)))
        with pytest.raises(ConnectionError):
            await tracker.flush()
        r = await probe(server, "/readyz")
        assert r.status_code == 503
        assert r.json()["checks"] == {
            "bus": "error: ConnectionError",
            "buffer": "error: BufferError",
        }
    finally:
        await server.close()


async def test_a_busy_health_port_is_reported_and_the_service_runs_on(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = settings.model_copy(update={"host": "127.0.0.1", "health_port": port})
        ran = False
        async with health_port(busy, {}):
            ran = True
    assert ran
    assert "TICKHUB_HEALTH_PORT" in caplog.text
