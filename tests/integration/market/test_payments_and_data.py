"""Payment validation against a ledger (a local fake one on loopback), concurrent bids
and validations that cannot double-book (PostgreSQL), and the raw data and forecast
paths: upsert, strict filters, ownership, a year of 15-minute values in one request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.fixtures.accounts import User, seed_error, seed_invalid
from tests.fixtures.fake_ledger import FakeLedger
from tests.fixtures.local_http import closed_port, serve
from tests.fixtures.market import (
    BID,
    FORECASTS,
    MARKET_ADDRESS,
    RAW,
    VALIDATE,
    Member,
    member,
    move,
    new_session,
    ok,
    root,
)
from tickhub.market import service
from tickhub.market.service import LedgerVerifier
from tickhub.runtime import Runtime

SEED_TIME = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
async def boss(client: httpx.AsyncClient, runtime: Runtime) -> User:
    return await root(runtime, client)


async def _open_bid(client: httpx.AsyncClient, boss: User, who: Member, reference: str) -> int:
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    body = {
        "market_session": session_id,
        "resource": who.resource,
        "max_payment": 1_500_000,
        "bid_price": 10,
    }
    placed = await ok(await client.post(BID, json=body, headers=who.headers))
    assert placed["gain_func"] == "rmse"  # the default
    r = await client.patch(
        f"{BID}/{placed['id']}", json={"tangle_msg_id": reference}, headers=who.headers
    )
    await ok(r)
    return session_id


# ---------------------------------------------------------------- the ledger


@pytest.fixture
async def ledger(client: httpx.AsyncClient, runtime: Runtime) -> AsyncIterator[FakeLedger]:
    fake = FakeLedger()
    async with serve(fake.app()) as url:
        app = client._transport.app  # type: ignore[attr-defined]
        app.state.market = service.build_market(
            runtime.settings.market, runtime.engine, verifier=LedgerVerifier(url, timeout_s=5)
        )
        yield fake


async def test_the_ledger_refuses_unknown_short_or_misdirected_payments(
    client: httpx.AsyncClient, boss: User, ledger: FakeLedger
) -> None:
    ada = await member(client, 1)
    await _open_bid(client, boss, ada, "msg-1")
    r = await client.post(VALIDATE, json={"tangle_msg_id": "msg-1"}, headers=boss.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(409, "Tangle Message ID msg-1 not found in IOTA Tangle lookup.")
    ledger.pay("msg-1", MARKET_ADDRESS, 1_499_999)
    r = await client.post(VALIDATE, json={"tangle_msg_id": "msg-1"}, headers=boss.headers)
    assert r.json()["message"] == (
        "Tangle Message ID msg-1 pays 1499999, less than the bid's max_payment 1500000."
    )
    ledger.pay("msg-1", "atoi1elsewhere", 1_500_000)
    r = await client.post(VALIDATE, json={"tangle_msg_id": "msg-1"}, headers=boss.headers)
    assert r.status_code == 409 and "another address" in r.json()["message"]
    ledger.pay("msg-1", MARKET_ADDRESS, 1_500_000, confirmed=False)
    r = await client.post(VALIDATE, json={"tangle_msg_id": "msg-1"}, headers=boss.headers)
    assert r.json()["message"] == "Tangle Message ID msg-1 is not confirmed yet."
    ledger.status = 500
    r = await client.post(VALIDATE, json={"tangle_msg_id": "msg-1"}, headers=boss.headers)
    assert r.status_code == 503
    assert await ok(await client.get("/api/market/session-transactions", headers=ada.headers)) == []
    ledger.status = 200
    ledger.pay("msg-1", MARKET_ADDRESS, 1_500_000)
    data = await ok(
        await client.post(VALIDATE, json={"tangle_msg_id": "msg-1"}, headers=boss.headers)
    )
    assert data["confirmed"] is True
    assert ledger.requests == ["msg-1"] * 6
    (balance,) = await ok(await client.get("/api/market/balance", headers=ada.headers))
    assert balance["balance"] == 1_500_000


async def test_an_unreachable_ledger_is_a_503_that_changes_nothing(
    client: httpx.AsyncClient, boss: User, runtime: Runtime
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{closed_port()}"
    app.state.market = service.build_market(
        runtime.settings.market, runtime.engine, verifier=LedgerVerifier(url, timeout_s=5)
    )
    ada = await member(client, 1)
    await _open_bid(client, boss, ada, "msg-9")
    r = await client.post(VALIDATE, json={"tangle_msg_id": "msg-9"}, headers=boss.headers)
    assert r.status_code == 503
    (bid,) = await ok(await client.get(BID, headers=ada.headers))
    assert bid["confirmed"] is False


# ---------------------------------------------------------------- concurrency


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_parallel_validations_and_bids_book_once(
    client: httpx.AsyncClient, boss: User
) -> None:
    ada = await member(client, 1)
    session_id = await _open_bid(client, boss, ada, "msg-p")
    answers = await asyncio.gather(
        *(
            client.post(VALIDATE, json={"tangle_msg_id": "msg-p"}, headers=boss.headers)
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 7
    (balance,) = await ok(await client.get("/api/market/balance", headers=ada.headers))
    assert (balance["balance"], balance["total_deposit"]) == (1_500_000, 1_500_000)
    assert (
        len(await ok(await client.get("/api/market/session-transactions", headers=ada.headers)))
        == 1
    )

    r = await client.post(
        "/api/user/resource",
        json={"name": "second", "type": "measurements", "to_forecast": True},
        headers=ada.headers,
    )
    second = (await ok(r, 201))["id"]
    body = {
        "market_session": session_id,
        "resource": second,
        "max_payment": 1_000_000,
        "bid_price": 1,
    }
    answers = await asyncio.gather(
        *(client.post(BID, json=body, headers=ada.headers) for _ in range(8))
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 7
    assert (
        len(await ok(await client.get(BID, params={"resource": second}, headers=ada.headers))) == 1
    )


# ---------------------------------------------------------------- raw data and forecasts


def _raw(
    points: list[tuple[datetime, float]], name: str = "farm", interval: int = 15
) -> dict[str, object]:
    return {
        "resource_name": name,
        "time_interval": interval,
        "aggregation_type": "avg",
        "units": "kw",
        "timeseries": [{"datetime": t.strftime(SEED_TIME), "value": v} for t, v in points],
    }


async def test_raw_data_upserts_filters_and_stays_private(client: httpx.AsyncClient) -> None:
    ada, bob = await member(client, 1), await member(client, 2)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    points = [(start + timedelta(minutes=15 * i), float(i)) for i in range(8)]
    # the seed's answers: an empty message when every value is new, else this one
    assert await ok(await client.post(RAW, json=_raw(points), headers=ada.headers)) == {
        "status": "ok",
        "message": "",
    }
    assert await ok(
        await client.post(RAW + "/", json=_raw([(start, 42.0)]), headers=ada.headers)
    ) == {"status": "ok", "message": "One or more database records were updated."}
    rows = await ok(await client.get(RAW, headers=ada.headers))
    assert [r["value"] for r in rows] == [42.0, 1, 2, 3, 4, 5, 6, 7]
    assert set(rows[0]) == {
        "datetime", "value", "units", "resource", "resource_type", "time_interval",
        "aggregation_type", "registered_at", "resource_name",
    }  # fmt: skip
    assert (rows[0]["datetime"], rows[0]["resource"], rows[0]["resource_name"]) == (
        "2024-01-01T00:00:00Z",
        ada.resource,
        "farm",
    )
    window = {"start_date": "2024-01-01T00:30:00Z", "end_date": "2024-01-01T01:00:00Z"}
    rows = await ok(await client.get(RAW, params=window, headers=ada.headers))
    assert [r["value"] for r in rows] == [2, 3, 4]
    assert await ok(await client.get(RAW, headers=bob.headers)) == []
    r = await client.get(RAW, params={"start_date": "2024-01-01"}, headers=ada.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid(
        ["Query datetime parameters must use format %Y-%m-%dT%H:%M:%SZ"]
    )
    r = await client.get(RAW, params={"resource": "nope"}, headers=ada.headers)
    assert r.json() == seed_invalid(["Query param 'resource' must be a valid uuid."])
    r = await client.post(RAW, json=_raw(points, name="windfarm"), headers=bob.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(
        409, "Resource ID 'windfarm' is not registered for this user. You must register it first."
    )
    r = await client.post(RAW, json=_raw(points, interval=10), headers=ada.headers)
    assert r.status_code == 400 and set(r.json()["data"]) == {"time_interval"}
    body = _raw(points)
    body.pop("timeseries")
    r = await client.post(RAW, json=body, headers=ada.headers)
    assert r.json() == seed_invalid({"timeseries": ["This field is required."]})


async def test_a_year_of_15_minute_values_in_one_request(client: httpx.AsyncClient) -> None:
    ada = await member(client, 1)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    points = [(start + timedelta(minutes=15 * i), float(i % 96)) for i in range(365 * 96)]
    body = _raw(points)
    r = await client.post(RAW, json=body, headers=ada.headers)
    data = await ok(r)
    assert data["message"] == ""
    rows = await ok(
        await client.get(RAW, params={"start_date": "2023-12-31T23:45:00Z"}, headers=ada.headers)
    )
    assert [(r["datetime"], r["value"]) for r in rows] == [("2023-12-31T23:45:00Z", 95.0)]


async def test_forecasts_are_posted_by_admins_and_read_by_their_owner(
    client: httpx.AsyncClient, boss: User
) -> None:
    ada, bob = await member(client, 1), await member(client, 2)
    session_id = await new_session(client, boss)
    body = {
        "user": ada.id,
        "resource_name": "farm",
        "market_session": session_id,
        "units": "kw",
        "timeseries": [
            {"datetime": "2024-01-02T00:00:00Z", "request": "2024-01-01T12:00:00Z", "value": 1.5}
        ],
    }
    r = await client.post(FORECASTS, json=body, headers=ada.headers)
    assert r.status_code == 403
    for message in ("", "One or more database records were updated."):
        data = await ok(await client.post(FORECASTS, json=body, headers=boss.headers))
        assert data == {"status": "ok", "message": message}
    (row,) = await ok(await client.get(FORECASTS, headers=ada.headers))
    assert row == {
        "market_session": session_id,
        "datetime": "2024-01-02T00:00:00Z",
        "request": "2024-01-01T12:00:00Z",
        "value": 1.5,
        "units": "kw",
        "resource": ada.resource,
        "registered_at": row["registered_at"],
        "resource_name": "farm",
    }
    assert await ok(await client.get(FORECASTS, headers=bob.headers)) == []
    r = await client.post(FORECASTS, json={**body, "resource_name": "other"}, headers=boss.headers)
    assert r.json() == seed_error(
        409,
        "Resource ID 'other' is not registered in the platform. Resource owner must register "
        "it first.",
    )
    r = await client.post(
        FORECASTS, json={**body, "market_session": session_id + 3}, headers=boss.headers
    )
    assert r.json() == seed_error(409, f"Market session {session_id + 3} does not exist.")
