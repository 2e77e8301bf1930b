"""The data market inside a real `tickhub up` (SQLite, the in-memory bus): an admin made
with `tickhub admin create`, users registering over HTTP, uploading their measurements and
bidding; when the admin runs the session, the process's own market engine clears it: the
session finishes, the buyer's forecasts appear, revenue is booked and the next session is
staged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.accounts import iota_address
from tests.fixtures.market import DAYS, STEP, synthetic_series
from tests.fixtures.processes import free_port, wait_until

PASSWORD = "Market-e2e-pass-42"


@pytest.fixture
def market_up(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TICKHUB_")},
        "TICKHUB_PORT": str(port),
        "TICKHUB_DATA_DIR": str(tmp_path),
        "TICKHUB_SOURCES": "",
        "TICKHUB_AUTH_REQUIRE_VERIFICATION": "false",
        "TICKHUB_GATEWAY_RATE_LIMIT_REGISTRATION": "",
        "TICKHUB_GATEWAY_RATE_LIMIT_LOGIN": "",
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
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, 60, "tickhub up")
        yield url, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def _data(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()["data"]


def _signin(c: httpx.Client, email: str) -> dict[str, str]:
    r = c.post("/api/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access']}"}


def test_tickhub_up_clears_a_launched_session(
    market_up: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = market_up
    made = subprocess.run(
        [sys.executable, "-m", "tickhub", "admin", "create", "--email", "root@example.com",
         "--password", PASSWORD],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - STEP
    times, series = synthetic_series(end)
    known = DAYS * 24
    with httpx.Client(base_url=url, timeout=60) as c:
        boss = _signin(c, "root@example.com")
        _data(
            c.post(
                "/api/market/wallet-address",
                json={"wallet_address": iota_address(900)},
                headers=boss,
            )
        )
        users = {}
        for n, name in enumerate(("buyer", "informative", "noise"), start=1):
            email = f"{name}@example.com"
            body = {"email": email, "password": PASSWORD, "first_name": name, "last_name": "E"}
            _data(c.post("/api/user/register", json=body), 201)
            headers = _signin(c, email)
            _data(
                c.post(
                    "/api/user/wallet-address",
                    json={"wallet_address": iota_address(n)},
                    headers=headers,
                )
            )
            resource = _data(
                c.post(
                    "/api/user/resource",
                    json={"name": "farm", "type": "measurements", "to_forecast": True},
                    headers=headers,
                ),
                201,
            )["id"]
            upload = {
                "resource_name": "farm", "time_interval": 60, "aggregation_type": "avg",
                "units": "kw",
                "timeseries": [
                    {"datetime": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": float(v)}
                    for t, v in zip(times[:known], series[name][:known], strict=True)
                ],
            }  # fmt: skip
            _data(c.post("/api/data/raw-data", json=upload, headers=headers))
            users[name] = (headers, resource)
        session = {"session_number": 1, "market_price": 50000, "b_min": 10000, "b_max": 100000,
                   "n_price_steps": 10, "delta": 0.05}  # fmt: skip
        session_id = _data(c.post("/api/market/session", json=session, headers=boss))["id"]
        patch = f"/api/market/session/{session_id}"
        _data(c.patch(patch, json={"status": "open"}, headers=boss))
        headers, resource = users["buyer"]
        bid = {"market_session": session_id, "resource": resource, "max_payment": 1_000_000,
               "bid_price": 100_000, "gain_func": "rmse"}  # fmt: skip
        bid_id = _data(c.post("/api/market/bid", json=bid, headers=headers))["id"]
        _data(
            c.patch(f"/api/market/bid/{bid_id}", json={"tangle_msg_id": "e2e-1"}, headers=headers)
        )
        _data(
            c.post(
                "/api/market/validate/bid-payment", json={"tangle_msg_id": "e2e-1"}, headers=boss
            )
        )
        for status in ("closed", "running"):
            _data(c.patch(patch, json={"status": status}, headers=boss))

        def finished() -> bool:
            found = _data(
                c.get("/api/market/session", params={"market_session": session_id}, headers=boss)
            )
            return bool(found[0]["status"] == "finished")

        wait_until(finished, 120, "the engine to finish the session")
        forecasts = _data(
            c.get(
                "/api/data/market-forecasts", params={"market_session": session_id}, headers=headers
            )
        )
        assert len(forecasts) == 24
        booked = _data(
            c.get(
                "/api/market/session-transactions",
                params={"market_session": session_id},
                headers=boss,
            )
        )
        kinds = {t["transaction_type"] for t in booked}
        assert {"transfer_in", "payment", "revenue"} <= kinds
        (latest,) = _data(
            c.get("/api/market/session", params={"latest_only": "true"}, headers=boss)
        )
        assert latest["status"] == "staged" and latest["id"] != session_id
