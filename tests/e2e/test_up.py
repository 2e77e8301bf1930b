"""`tickhub up` as a user runs it: a real process, a real port, SQLite, the in-memory bus.

Binance is pointed at a closed local port (as on a machine without internet), so the
offline fallback must start the labelled simulated market; the seed and /v1 paths then
serve its trades, and Ctrl-C (SIGINT) flushes and exits cleanly.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.processes import free_port, wait_until


@pytest.fixture
def tickhub_up(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    port = free_port()
    closed = free_port()  # nothing listens there: Binance is unreachable
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TICKHUB_")},
        "TICKHUB_PORT": str(port),
        "TICKHUB_DATA_DIR": str(tmp_path),
        "TICKHUB_BINANCE_WS_URL": f"ws://127.0.0.1:{closed}",
        "TICKHUB_BINANCE_REST_URL": f"http://127.0.0.1:{closed}",
        "TICKHUB_OFFLINE_AFTER_S": "2",
        "TICKHUB_SIM_RATE": "50",
        "TICKHUB_SIM_BATCH_INTERVAL_S": "0.1",
    }
    log = (tmp_path / "up.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tickhub", "up"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def test_up_serves_simulated_trades_when_offline_and_stops_cleanly(
    tickhub_up: tuple[str, subprocess.Popen[str], Path],
) -> None:
    base, proc, data = tickhub_up
    with httpx.Client(base_url=base, timeout=5) as client:
        wait_until(lambda: client.get("/healthz").status_code == 200, 30, "the API")

        def sim_price() -> Any:
            r = client.get("/api/current_price/", params={"symbol": "BTCUSDT"})
            return r.json() if r.status_code == 200 else None

        price = wait_until(sim_price, 30, "a simulated BTCUSDT price")
        assert price["latest_price"] > 0

        sources = client.get("/v1/sources").json()
        states = {s["source"]: s for s in sources}
        assert states["sim"]["simulated"] is True
        assert states["sim"]["last_trade_time"].endswith("Z")
        assert states["binance"]["state"] in {"connecting", "reconnecting", "offline"}
        exchanges = {e["name"]: e for e in client.get("/v1/exchanges").json()}
        assert exchanges["sim"]["simulated"] is True
        assert client.get("/exchanges").json()["data"]
        assert client.get("/v1/candles", params={"exchange": "sim", "symbol": "BTCUSDT"}).json()
        assert client.get("/docs").status_code == 200
        assert client.get("/readyz").status_code == 200

    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    log = (data / "up.log").read_text()
    assert "SIMULATED" in log
    assert "stopped:" in log

    # what the API reported before the stop is on disk, and every stored id is unique
    with sqlite3.connect(data / "tickhub.db") as db:
        n, distinct = db.execute(
            "SELECT count(*), count(DISTINCT trade_id) FROM trades t "
            "JOIN instruments i ON i.id = t.instrument_id WHERE i.symbol = 'BTCUSDT'"
        ).fetchone()
    assert n == distinct > 0
