"""The write paths seed 003's external market engine used: `POST session-balance`,
`session-fee`, `price-weight`, `market-forecasts` and `PUT transfer-out`, with the seed's
bodies, checks and envelope (its tests `test_market_session_fee_view.py` and
`test_price_weight_view.py` are ported here), and what tickhub adds: money conserved,
never a negative balance, and never the same session booked by the built-in engine and an
external one. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.fixtures.accounts import User, iota_address, seed_error, seed_invalid, signup
from tests.fixtures.market import Member, member, move, new_session, ok, paid_bid, root
from tickhub.market import service
from tickhub.runtime import Runtime

BALANCE = "/api/market/session-balance"
FEE = "/api/market/session-fee"
WEIGHT = "/api/market/price-weight"
TRANSFER = "/api/market/transfer-out"
FORECASTS = "/api/data/market-forecasts"
FORBIDDEN = "You do not have permission to perform this action."


@pytest.fixture
async def boss(client: httpx.AsyncClient, runtime: Runtime) -> User:
    return await root(runtime, client)


@pytest.fixture
async def ada(client: httpx.AsyncClient) -> Member:
    return await member(client, 1)


def _entry(who: Member, session_id: int, kind: str, amount: float) -> dict[str, Any]:
    return {
        "user": who.id,
        "market_session": session_id,
        "resource": who.resource,
        "transaction_type": kind,
        "amount": amount,
    }


async def _running_with_bid(
    client: httpx.AsyncClient, boss: User, buyer: Member, max_payment: int = 1_000_000
) -> int:
    """A session with `buyer`'s paid bid, closed and running (nobody clears it here: the
    test app runs no engine worker)."""
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    await paid_bid(client, boss, buyer, session_id, max_payment=max_payment)
    await move(client, boss, session_id, "closed", "running")
    return session_id


# ---------------------------------------------------------------- session-fee (the seed's tests)


async def test_session_fee_as_the_seed_tests_it(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    fee = {"market_session": 1, "amount": 500000}
    # test_create_session_fee_no_auth / test_list_session_fee_no_auth
    assert (await client.post(FEE, json=fee)).status_code == 401
    assert (await client.get(FEE)).status_code == 401
    # test_create_session_fee_no_session_available
    r = await client.post(FEE, json=fee, headers=boss.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid({"market_session": ["This market session does not exist yet."]})
    # test_create_session_fee_no_market_session_id
    r = await client.post(FEE, json={"amount": 500000}, headers=boss.headers)
    assert r.json() == seed_invalid({"market_session": ["This field is required."]})
    session_id = await _running_with_bid(client, boss, ada)
    assert session_id == 1
    # test_create_session_fee_normal_user
    r = await client.post(FEE, json=fee, headers=ada.headers)
    assert r.status_code == 403 and r.json() == seed_error(403, FORBIDDEN)
    # test_create_session_fee_super_user. Unlike the seed (which takes a fee of a session
    # that took no payment), a fee is booked only within the payments it comes from: here
    # the buyer has paid first.
    await _book(client, boss, _entry(ada, session_id, "payment", -600000))
    r = await client.post(FEE, json=fee, headers=boss.headers)
    assert r.status_code == 200
    assert r.json() == {"code": 200, "data": "Market fee registered with success."}
    # test_list_session_fee
    assert await ok(await client.get(FEE, headers=boss.headers)) == [fee]
    # one fee per session, as the seed's one-to-one table
    r = await client.post(FEE, json=fee, headers=boss.headers)
    assert r.json() == seed_invalid(
        {"market_session": ["market session fee with this market session already exists."]}
    )


async def test_a_fee_beyond_the_payments_is_refused(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    session_id = await _running_with_bid(client, boss, ada)
    await _book(client, boss, _entry(ada, session_id, "payment", -1000))
    r = await client.post(
        FEE, json={"market_session": session_id, "amount": 1000.5}, headers=boss.headers
    )
    assert r.status_code == 409
    assert r.json() == seed_error(
        409,
        f"Unable to book market session {session_id}: revenues 0 and fee 1000.5 would exceed "
        "its payments 1000.",
    )
    r = await client.post(
        FEE, json={"market_session": session_id, "amount": -1}, headers=boss.headers
    )
    assert r.json() == seed_invalid(
        {"amount": ["Ensure this value is greater than or equal to 0."]}
    )
    assert await ok(await client.get(FEE, headers=boss.headers)) == []


# ---------------------------------------------------------------- price-weight (the seed's tests)


async def test_price_weight_as_the_seed_tests_it(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    weights = {"weights_p": [20.2, 29.2], "market_session": 1}
    # test_create_weight_no_auth / test_list_weight_no_auth
    assert (await client.post(WEIGHT, json=weights)).status_code == 401
    assert (await client.get(WEIGHT)).status_code == 401
    # test_create_weight_no_session_available
    r = await client.post(WEIGHT, json=weights, headers=boss.headers)
    assert r.json() == seed_invalid({"market_session": ["This market session does not exist yet."]})
    session_id = await new_session(client, boss)
    # test_create_weight_normal_user
    r = await client.post(WEIGHT, json=weights, headers=ada.headers)
    assert r.status_code == 403 and r.json() == seed_error(403, FORBIDDEN)
    # test_create_weight_no_market_session_id / test_create_weight_no_weights
    for field in ("market_session", "weights_p"):
        body = {k: v for k, v in weights.items() if k != field}
        r = await client.post(WEIGHT, json=body, headers=boss.headers)
        assert r.json() == seed_invalid({field: ["This field is required."]}), field
    # test_create_weight_wrong_weights_type
    r = await client.post(
        WEIGHT, json={**weights, "weights_p": "not_an_array"}, headers=boss.headers
    )
    assert r.status_code == 400
    assert r.json() == seed_invalid(
        {"weights_p": {"non_field_errors": ['Expected a list of items but got type "str".']}}
    )
    # test_create_weight_super_user
    r = await client.post(WEIGHT, json=weights, headers=boss.headers)
    assert r.status_code == 200 and r.json() == {"code": 200, "data": True}
    # beyond the seed: each weight is priced at its step of the session's grid
    # (b_min 10000 to b_max 100000 in 20 steps), and there are no more weights than steps
    listed = await ok(await client.get(WEIGHT, headers=boss.headers))
    assert [(w["market_session"], w["weights_p"], w["price"]) for w in listed] == [
        (session_id, 20.2, 10000),
        (session_id, 29.2, 14736.842105),
    ]
    r = await client.post(WEIGHT, json={**weights, "weights_p": [1.0] * 19}, headers=boss.headers)
    assert r.json() == seed_invalid(
        {"weights_p": ["Ensure this field has no more than 18 elements."]}
    )


# ---------------------------------------------------------------- session-balance


async def _book(client: httpx.AsyncClient, boss: User, body: dict[str, Any]) -> None:
    r = await client.post(BALANCE, json=body, headers=boss.headers)
    assert r.json() == {
        "code": 200,
        "data": f"Updated session balance for the user ID ({body['user']}). ",
    }, r.text


async def test_an_external_engine_books_a_session_and_money_is_conserved(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    bob = await member(client, 2)
    session_id = await _running_with_bid(client, boss, ada)
    r = await client.post(BALANCE, json=_entry(ada, session_id, "payment", -1), headers=ada.headers)
    assert r.status_code == 403 and r.json() == seed_error(403, FORBIDDEN)

    await _book(client, boss, _entry(ada, session_id, "payment", -600000.25))
    await _book(client, boss, _entry(bob, session_id, "revenue", 500000))
    # revenues and fee never exceed the payments: no money is made up
    r = await client.post(
        FEE, json={"market_session": session_id, "amount": 100001}, headers=boss.headers
    )
    assert r.status_code == 409
    await ok(
        await client.post(
            FEE, json={"market_session": session_id, "amount": 100000}, headers=boss.headers
        )
    )
    # finishing the session hands what is left (0.25) to the market's fee
    await move(client, boss, session_id, "finished")
    (fee,) = await ok(
        await client.get(FEE, params={"market_session": session_id}, headers=boss.headers)
    )
    assert fee == {"market_session": session_id, "amount": 100000.25}
    books = await _books(client, boss, session_id)
    assert books == (Decimal("600000.25"), Decimal(500000), Decimal("100000.25"))

    balances = {
        b["user"]: b
        for b in await ok(await client.get("/api/market/balance", headers=boss.headers))
    }
    assert balances[ada.id]["balance"] == 399999.75
    assert balances[ada.id]["total_payment"] == 600000.25
    assert (balances[bob.id]["balance"], balances[bob.id]["total_revenue"]) == (500000, 500000)
    (sb,) = await ok(
        await client.get(
            BALANCE,
            params={"market_session": session_id, "balance_by_resource": "false"},
            headers=bob.headers,
        )
    )
    assert (sb["session_revenue"], sb["session_balance"], sb["resource"]) == (
        500000,
        500000,
        bob.resource,
    )


async def _books(
    client: httpx.AsyncClient, boss: User, session_id: int
) -> tuple[Decimal, Decimal, Decimal]:
    r = await client.get(
        "/api/market/session-transactions",
        params={"market_session": session_id},
        headers=boss.headers,
    )
    payments = revenues = Decimal(0)
    for t in await ok(r):
        if t["transaction_type"] == "payment":
            payments -= Decimal(str(t["amount"]))
        elif t["transaction_type"] == "revenue":
            revenues += Decimal(str(t["amount"]))
    fees = await ok(
        await client.get(FEE, params={"market_session": session_id}, headers=boss.headers)
    )
    return payments, revenues, sum((Decimal(str(f["amount"])) for f in fees), Decimal(0))


async def test_session_balance_checks(client: httpx.AsyncClient, boss: User, ada: Member) -> None:
    session_id = await _running_with_bid(client, boss, ada)
    body = _entry(ada, session_id, "payment", -1000)
    for field in body:
        r = await client.post(
            BALANCE, json={k: v for k, v in body.items() if k != field}, headers=boss.headers
        )
        assert r.json() == seed_invalid({field: ["This field is required."]}), field
    r = await client.post(BALANCE, json={**body, "user": "nope"}, headers=boss.headers)
    assert r.json() == seed_invalid({"user": ["Must be a valid UUID."]})
    r = await client.post(BALANCE, json={**body, "transaction_type": "gift"}, headers=boss.headers)
    assert r.json() == seed_invalid({"transaction_type": ['"gift" is not a valid choice.']})
    r = await client.post(BALANCE, json={**body, "amount": "x"}, headers=boss.headers)
    assert r.json() == seed_invalid({"amount": ["A valid number is required."]})
    # the seed's sign rules, with its message
    r = await client.post(BALANCE, json={**body, "amount": 100}, headers=boss.headers)
    assert r.json() == seed_error(409, "Bad operator signal for transaction payment - 100.0.")
    r = await client.post(
        BALANCE, json=_entry(ada, session_id, "revenue", -5), headers=boss.headers
    )
    assert r.json() == seed_error(409, "Bad operator signal for transaction revenue - -5.0.")
    # an unknown session, another user's resource (the seed answered 500 to both)
    r = await client.post(BALANCE, json={**body, "market_session": 77}, headers=boss.headers)
    assert r.json() == seed_error(409, "Market session 77 does not exist.")
    bob = await signup(client, "bob@example.com")
    r = await client.post(BALANCE, json={**body, "user": bob.id}, headers=boss.headers)
    assert r.json() == seed_error(
        409, f"Resource ID {ada.resource} is not registered to user '{bob.id}'."
    )
    # never a negative balance (the seed answered 500): ada deposited 1,000,000
    r = await client.post(BALANCE, json={**body, "amount": -1_000_001}, headers=boss.headers)
    assert r.status_code == 409
    assert r.json()["message"] == "Final balance lower than zero. (-1 = 1000000 - 1000001)."
    # revenue beyond the payments
    r = await client.post(BALANCE, json=_entry(ada, session_id, "revenue", 1), headers=boss.headers)
    assert r.json() == seed_error(
        409,
        f"Unable to book market session {session_id}: revenues 1 and fee 0 would exceed its "
        "payments 0.",
    )
    # once per (session, user, resource, type)
    await _book(client, boss, body)
    r = await client.post(BALANCE, json=body, headers=boss.headers)
    assert r.json() == seed_error(
        409,
        f"Transaction of type 'payment' already exists for user '{ada.id}', resource "
        f"'{ada.resource}' and market session '{session_id}'.",
    )
    assert await _books(client, boss, session_id) == (Decimal(1000), Decimal(0), Decimal(0))


# ---------------------------------------------------------------- the built-in engine


async def test_the_built_in_engine_and_an_external_one_never_book_the_same_session(
    client: httpx.AsyncClient, boss: User, ada: Member, runtime: Runtime
) -> None:
    market = service.build_market(runtime.settings.market, runtime.engine)
    # An external engine's first result claims the session: the built-in engine skips it.
    first = await _running_with_bid(client, boss, ada)
    await _book(client, boss, _entry(ada, first, "payment", -1000))
    outcome = await service.clear_session(market, first)
    assert (outcome.booked, outcome.reason) == (False, "booked by an external engine")
    await move(client, boss, first, "finished")

    # A session the built-in engine booked refuses an external engine's results.
    second = await new_session(client, boss, 2)
    await move(client, boss, second, "open", "closed", "running")
    assert (await service.clear_session(market, second)).booked
    forecast = {
        "user": ada.id,
        "resource_name": "farm",
        "market_session": second,
        "units": "kw",
        "timeseries": [
            {"datetime": "2024-01-02T00:00:00Z", "request": "2024-01-01T12:00:00Z", "value": 1}
        ],
    }
    owned = seed_error(409, f"Market session {second} is booked by the market engine.")
    for path, body in (
        (BALANCE, _entry(ada, second, "revenue", 1)),
        (FEE, {"market_session": second, "amount": 0}),
        (WEIGHT, {"market_session": second, "weights_p": [0.5]}),
        (FORECASTS, forecast),
    ):
        r = await client.post(path, json=body, headers=boss.headers)
        assert r.status_code == 409 and r.json() == owned, path
    # deposits claim nothing, and are refused nowhere
    await _book(client, boss, _entry(ada, second, "transfer_in", 10))


async def test_with_the_engine_external_the_built_in_one_books_nothing(
    client: httpx.AsyncClient, boss: User, runtime: Runtime
) -> None:
    settings = runtime.settings.market.model_copy(update={"engine": "external"})
    market = service.build_market(settings, runtime.engine)
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open", "closed", "running")
    outcome = await service.clear_session(market, session_id)
    assert (outcome.booked, outcome.reason) == (False, "the built-in engine is off")
    (session,) = await ok(
        await client.get(
            "/api/market/session", params={"market_session": session_id}, headers=boss.headers
        )
    )
    assert session["status"] == "running"


# ---------------------------------------------------------------- transfer-out PUT


async def test_put_transfer_out_records_the_transfer_and_books_nothing_again(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    session_id = await new_session(client, boss)
    await move(client, boss, session_id, "open")
    await paid_bid(client, boss, ada, session_id)
    out = {
        "user": ada.id,
        "amount": 400_000,
        "user_wallet_address": iota_address(1),
        "tangle_msg_id": "pending",
    }
    posted = await ok(await client.post(TRANSFER, json=out, headers=boss.headers))
    transfer_id = posted["withdraw_transfer_id"]
    r = await client.put(TRANSFER, json={"tangle_msg_id": "m"}, headers=boss.headers)
    assert r.json() == seed_invalid({"withdraw_transfer_id": ["This field is required"]})
    r = await client.put(TRANSFER, json={"withdraw_transfer_id": transfer_id}, headers=ada.headers)
    assert r.status_code == 403
    r = await client.put(TRANSFER, json={"withdraw_transfer_id": 999}, headers=boss.headers)
    assert r.json() == seed_error(409, "Transfer out 999 does not exist.")
    for _ in range(2):  # the seed took the amount from the balance at every PUT
        data = await ok(
            await client.put(
                TRANSFER,
                json={
                    **out,
                    "withdraw_transfer_id": transfer_id,
                    "tangle_msg_id": "sent",
                    "is_solid": True,
                },
                headers=boss.headers,
            )
        )
    assert data == {
        "withdraw_transfer_id": transfer_id,
        "user": ada.id,
        "amount": 400_000,
        "user_wallet_address": iota_address(1),
        "tangle_msg_id": "sent",
        "is_solid": True,
        "registered_at": data["registered_at"],
    }
    r = await client.put(
        TRANSFER, json={"withdraw_transfer_id": transfer_id, "amount": 1}, headers=boss.headers
    )
    assert r.json() == seed_error(
        409, f"Transfer out {transfer_id} was booked for 400000: its amount cannot change."
    )
    (balance,) = await ok(await client.get("/api/market/balance", headers=ada.headers))
    assert (balance["balance"], balance["total_withdraw"]) == (600_000, 400_000)
    listed = await ok(await client.get(TRANSFER, params={"is_solid": "true"}, headers=boss.headers))
    assert [t["withdraw_transfer_id"] for t in listed] == [transfer_id]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_parallel_external_writes_book_once(
    client: httpx.AsyncClient, boss: User, ada: Member
) -> None:
    session_id = await _running_with_bid(client, boss, ada)
    payment = _entry(ada, session_id, "payment", -700_000)
    answers = await asyncio.gather(
        *(client.post(BALANCE, json=payment, headers=boss.headers) for _ in range(8))
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 7
    fee = {"market_session": session_id, "amount": 1000}
    answers = await asyncio.gather(
        *(client.post(FEE, json=fee, headers=boss.headers) for _ in range(8))
    )
    # one fee; the others are the seed's "already exists" (400) or lost the race (409)
    assert sorted(r.status_code for r in answers)[0] == 200
    assert [r.status_code for r in answers].count(200) == 1
    (balance,) = await ok(await client.get("/api/market/balance", headers=ada.headers))
    assert (balance["balance"], balance["total_payment"]) == (300_000, 700_000)
    assert await _books(client, boss, session_id) == (
        Decimal(700_000),
        Decimal(0),
        Decimal(1000),
    )
