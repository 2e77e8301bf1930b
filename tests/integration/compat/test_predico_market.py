"""Seed 003's market paths as the seed's tests call them (api/market/tests/views): the
status and the exact envelope, on SQLite and PostgreSQL. Beyond the seed: the session
lifecycle is enforced (the seed accepted any status)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.accounts import User, iota_address, seed_error, seed_invalid, signup
from tests.fixtures.market import (
    BID,
    MARKET_ADDRESS,
    SESSION,
    VALIDATE,
    Member,
    member,
    move,
    new_session,
    ok,
    paid_bid,
    root,
    session_body,
)
from tickhub.runtime import Runtime


@pytest.fixture
async def boss(client: httpx.AsyncClient, runtime: Runtime) -> User:
    return await root(runtime, client)


@pytest.fixture
async def ada(client: httpx.AsyncClient) -> Member:
    return await member(client, 1)


# ---------------------------------------------------------------- sessions


async def test_session_needs_credentials_and_an_admin(client: httpx.AsyncClient) -> None:
    assert (await client.post(SESSION, json=session_body())).status_code == 401
    assert (await client.get(SESSION)).status_code == 401
    user = await signup(client, "carl.sagan@example.com")
    r = await client.post(SESSION, json=session_body(), headers=user.headers)
    assert r.status_code == 403
    assert r.json() == seed_error(403, "You do not have permission to perform this action.")


@pytest.mark.parametrize(
    "field", ["session_number", "market_price", "b_min", "b_max", "n_price_steps", "delta"]
)
async def test_create_session_missing_field(
    client: httpx.AsyncClient, boss: User, field: str
) -> None:
    body = session_body()
    body.pop(field)
    r = await client.post(SESSION, json=body, headers=boss.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid({field: ["This field is required."]})


async def test_create_session(client: httpx.AsyncClient, boss: User) -> None:
    data = await ok(await client.post(SESSION, json=session_body(), headers=boss.headers))
    assert data["session_number"] == 1
    assert data["market_price"] == 56842.10
    assert (data["b_min"], data["b_max"], data["n_price_steps"], data["delta"]) == (
        10000,
        100000,
        20,
        0.05,
    )
    assert data["status"] == "staged"
    assert data["staged_ts"].endswith("Z") and data["open_ts"] is None


async def test_create_session_no_wallet_address(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from tests.fixtures.accounts import admin

    boss = await admin(runtime, client)
    r = await client.post(SESSION, json=session_body(), headers=boss.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(
        409, "Market wallet address not found. Register an address first."
    )


async def test_create_session_with_an_unfinished_one(client: httpx.AsyncClient, boss: User) -> None:
    await new_session(client, boss)
    r = await client.post(SESSION, json=session_body(2), headers=boss.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(
        409, "Unable to create new session. There are still unfinished sessions."
    )


async def test_list_sessions_and_filters(client: httpx.AsyncClient, boss: User) -> None:
    assert await ok(await client.get(SESSION, headers=boss.headers)) == []
    ids = []
    for number in (1, 2, 3):
        ids.append(await new_session(client, boss, number))
        if number < 3:
            await move(client, boss, ids[-1], "open", "closed", "running", "finished")
    user = await signup(client, "carl.sagan@example.com")
    listed = await ok(await client.get(SESSION, headers=user.headers))
    assert [s["id"] for s in listed] == ids
    latest = await ok(
        await client.get(SESSION, params={"latest_only": "true"}, headers=user.headers)
    )
    assert [s["id"] for s in latest] == [ids[2]]
    staged = await ok(await client.get(SESSION, params={"status": "staged"}, headers=user.headers))
    assert [s["id"] for s in staged] == [ids[2]]
    one = await ok(
        await client.get(SESSION, params={"market_session": ids[0]}, headers=user.headers)
    )
    assert [s["status"] for s in one] == ["finished"]
    r = await client.get(SESSION, params={"latest_only": "asdsd"}, headers=user.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid(["Query param 'latest_only' must be a boolean (true/false)"])
    r = await client.get(SESSION, params={"market_session": "x"}, headers=user.headers)
    assert r.json() == seed_invalid(["Query param 'market_session' must be an integer."])
    r = await client.get(SESSION + "/", params={"status": "nope"}, headers=user.headers)
    assert r.status_code == 400


async def test_the_lifecycle_is_enforced_and_stamped(client: httpx.AsyncClient, boss: User) -> None:
    session_id = await new_session(client, boss)
    r = await client.patch(
        f"{SESSION}/{session_id}", json={"status": "invalid"}, headers=boss.headers
    )
    assert r.status_code == 400
    assert set(r.json()["data"]) == {"status"}
    r = await client.patch(f"{SESSION}/{session_id}", json={}, headers=boss.headers)
    # the seed's own answer (a KeyError it catches), without DRF's period
    assert r.json() == seed_invalid({"status": ["This field is required"]})
    r = await client.patch(
        f"{SESSION}/{session_id}", json={"status": "running"}, headers=boss.headers
    )
    assert r.status_code == 409
    assert r.json() == seed_error(
        409,
        f"Unable to update session {session_id}: it is 'staged' and the next status is "
        "'open' (asked: 'running').",
    )
    stamps = {
        "open": "open_ts",
        "closed": "close_ts",
        "running": "launch_ts",
        "finished": "finish_ts",
    }
    for status, stamp in stamps.items():
        data = await move(client, boss, session_id, status)
        assert data["status"] == status and data[stamp].endswith("Z")
    r = await client.patch(
        f"{SESSION}/{session_id}/", json={"status": "finished"}, headers=boss.headers
    )
    assert r.status_code == 409
    assert "it is 'finished' and it accepts no further change" in r.json()["message"]


# ---------------------------------------------------------------- bids


def _bid(session_id: int, resource: str, **more: object) -> dict[str, object]:
    return {
        "market_session": session_id,
        "resource": resource,
        "max_payment": 1_000_000,
        "bid_price": 50_000,
        "gain_func": "mse",
        **more,
    }


async def test_the_seven_checks_of_a_bid(
    client: httpx.AsyncClient, boss: User, runtime: Runtime
) -> None:
    session_id = await new_session(client, boss)
    carl = await signup(client, "carl.sagan@example.com")
    ada = await member(client, 1)
    some = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    r = await client.post(BID, json=_bid(session_id, some), headers=carl.headers)
    assert r.json() == seed_error(
        409, f"No wallet address found for user '{carl.id}'. Please register your address first."
    )
    r = await client.post(BID, json=_bid(session_id, some), headers=ada.headers)
    assert r.json() == seed_error(409, f"Resource ID {some} is not registered to user '{ada.id}'.")
    for name, kind, flag, message in (
        (
            "notes",
            "forecasts",
            False,
            "It is only possible to place bids for measurements resources.",
        ),
        (
            "quiet",
            "measurements",
            False,
            "It is only possible to place bids for resources with 'to_forecast' field "
            "equal to True.",
        ),
    ):
        r = await client.post(
            "/api/user/resource",
            json={"name": name, "type": kind, "to_forecast": flag},
            headers=ada.headers,
        )
        resource = (await ok(r, 201))["id"]
        r = await client.post(BID, json=_bid(session_id, resource), headers=ada.headers)
        assert r.status_code == 409 and r.json() == seed_error(409, message)
    r = await client.post(BID, json=_bid(session_id + 7, ada.resource), headers=ada.headers)
    assert r.json() == seed_error(409, f"Market session {session_id + 7} does not exist.")
    r = await client.post(BID, json=_bid(session_id, ada.resource), headers=ada.headers)
    assert r.json() == seed_error(409, f"Market session {session_id} is not open for bids.")
    await move(client, boss, session_id, "open")
    data = await ok(
        await client.post(BID, json=_bid(session_id, ada.resource), headers=ada.headers)
    )
    assert data["market_wallet_address"] == MARKET_ADDRESS
    assert {
        k: data[k] for k in ("user", "market_session", "resource", "max_payment", "gain_func")
    } == {
        "user": ada.id,
        "market_session": session_id,
        "resource": ada.resource,
        "max_payment": 1_000_000,
        "gain_func": "mse",
    }
    r = await client.post(BID, json=_bid(session_id, ada.resource), headers=ada.headers)
    assert r.json() == seed_error(
        409,
        f"The user already has a placed bid for session ID {session_id} and resource ID "
        f"{ada.resource}.",
    )
    r = await client.post(
        BID, json=_bid(session_id, ada.resource, max_payment=999_999), headers=ada.headers
    )
    assert r.json() == seed_invalid(
        {"max_payment": ["Ensure this value is greater than or equal to 1000000."]}
    )
    r = await client.post(
        BID, json=_bid(session_id, ada.resource, gain_func="r2"), headers=ada.headers
    )
    assert r.json() == seed_invalid({"gain_func": ['"r2" is not a valid choice.']})
    body = _bid(session_id, ada.resource)
    body.pop("bid_price")
    r = await client.post(BID, json=body, headers=ada.headers)
    assert r.json() == seed_invalid({"bid_price": ["This field is required."]})


async def test_pay_and_validate_a_bid(client: httpx.AsyncClient, boss: User, ada: Member) -> None:
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    placed = await ok(
        await client.post(BID, json=_bid(session_id, ada.resource), headers=ada.headers)
    )
    bid_id = placed["id"]
    bob = await member(client, 2)
    r = await client.patch(f"{BID}/{bid_id}", json={"tangle_msg_id": "m1"}, headers=bob.headers)
    assert r.json() == seed_error(409, f"Bid ID {bid_id} is not registered to user '{bob.id}'.")
    r = await client.post(VALIDATE, json={"tangle_msg_id": "m1"}, headers=boss.headers)
    assert r.json() == seed_error(409, "No bid payments were found for tangle_msg_id m1.")
    data = await ok(
        await client.patch(f"{BID}/{bid_id}/", json={"tangle_msg_id": "m1"}, headers=ada.headers)
    )
    assert data == {"bid_id": bid_id, "tangle_msg_id": "m1"}
    r = await client.patch(f"{BID}/{bid_id}", json={"tangle_msg_id": "m2"}, headers=ada.headers)
    assert r.json() == seed_error(409, f"A Tangle Message ID already exists for bid ID {bid_id}.")
    r = await client.post(VALIDATE, json={"tangle_msg_id": "m1"}, headers=ada.headers)
    assert r.status_code == 403
    data = await ok(await client.post(VALIDATE, json={"tangle_msg_id": "m1"}, headers=boss.headers))
    assert data == {
        "market_bid": bid_id,
        "market_session": session_id,
        "tangle_msg_id": "m1",
        "user_wallet_address": MARKET_ADDRESS,
        "confirmed": True,
    }
    r = await client.post(VALIDATE, json={"tangle_msg_id": "m1"}, headers=boss.headers)
    assert r.json() == seed_error(409, "Tangle message ID m1 already validated.")
    (bid,) = await ok(await client.get(BID, headers=ada.headers))
    assert (bid["confirmed"], bid["tangle_msg_id"]) == (True, "m1")
    assert await ok(await client.get(BID, headers=bob.headers)) == []
    (balance,) = await ok(await client.get("/api/market/balance", headers=ada.headers))
    assert (balance["user"], balance["balance"], balance["total_deposit"]) == (
        ada.id,
        1_000_000,
        1_000_000,
    )
    (t,) = await ok(await client.get("/api/market/session-transactions", headers=ada.headers))
    assert (t["transaction_type"], t["amount"], t["resource_name"]) == (
        "transfer_in",
        1_000_000,
        "farm",
    )
    assert await ok(await client.get("/api/market/session-transactions", headers=bob.headers)) == []
    (sb,) = await ok(await client.get("/api/market/session-balance", headers=ada.headers))
    assert (sb["market_session"], sb["session_deposit"], sb["session_balance"]) == (
        session_id,
        1_000_000,
        1_000_000,
    )
    notes = await ok(await client.get("/api/user/notification", headers=ada.headers))
    assert [n["notification_title"] for n in notes["bid_confirmed"]] == ["Bid confirmed"]
    one = notes["bid_confirmed"][0]["id"]
    assert (await ok(await client.get(f"/api/user/notification/{one}", headers=ada.headers)))[
        "id"
    ] == one
    r = await client.get(f"/api/user/notification/{one}", headers=bob.headers)
    assert r.status_code == 404
    r = await client.patch(
        f"/api/user/notification/{one}/", json={"state": False}, headers=bob.headers
    )
    assert r.json() == seed_error(404, "UserNotification matching query not found")
    r = await client.patch(
        f"/api/user/notification/{one}", json={"state": False}, headers=ada.headers
    )
    assert await ok(r) == {"state": False}
    notes = await ok(await client.get("/api/user/notification", headers=ada.headers))
    assert notes["bid_confirmed"][0]["state"] is False


async def test_money_paths_are_scoped_and_admin_only_where_the_seed_says(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    await paid_bid(client, boss, ada, session_id)
    bob = await member(client, 2)
    for path in (
        "/api/market/session-fee",
        "/api/market/price-weight",
        "/api/market/transfer-out",
        "/api/user/list",
    ):
        r = await client.get(path, headers=ada.headers)
        assert r.status_code == 403, path
        assert r.json() == seed_error(403, "You do not have permission to perform this action.")
        assert (await client.get(path, headers=boss.headers)).status_code == 200
    balances = await ok(await client.get("/api/market/balance", headers=boss.headers))
    assert {b["user"] for b in balances} >= {ada.id, bob.id}
    only = await ok(
        await client.get("/api/market/balance", params={"user": ada.id}, headers=boss.headers)
    )
    assert [b["user"] for b in only] == [ada.id]
    rich = await ok(
        await client.get("/api/market/balance", params={"balance__gte": "1"}, headers=boss.headers)
    )
    assert [b["user"] for b in rich] == [ada.id]
    r = await client.get("/api/market/balance", params={"balance__gte": "x"}, headers=ada.headers)
    assert r.json() == seed_invalid(["Query param 'balance__gte' must be an integer or float."])
    out = {
        "user": ada.id,
        "amount": 400_000,
        "user_wallet_address": iota_address(1),
        "tangle_msg_id": "o1",
    }
    data = await ok(await client.post("/api/market/transfer-out", json=out, headers=boss.headers))
    assert data == {
        "user_id": ada.id,
        "amount": 400_000,
        "user_wallet_address": iota_address(1),
        "tangle_msg_id": "o1",
        "withdraw_transfer_id": data["withdraw_transfer_id"],
    }
    r = await client.post(
        "/api/market/transfer-out",
        json={**out, "amount": 600_001, "tangle_msg_id": "o2"},
        headers=boss.headers,
    )
    assert r.status_code == 409
    assert r.json()["message"] == "Final balance lower than zero. (-1 = 600000 - 600001)."
    (balance,) = await ok(await client.get("/api/market/balance", headers=ada.headers))
    assert (balance["balance"], balance["total_withdraw"]) == (600_000, 400_000)
    kinds = [
        t["transaction_type"]
        for t in await ok(await client.get("/api/market/session-transactions", headers=ada.headers))
    ]
    assert kinds == ["transfer_in", "transfer_out"]
