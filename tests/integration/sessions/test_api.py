"""Seed 000 sessions and transactions at the seed's paths: the README's examples as
contract tests, pagination, cascade delete, derived figures, ownership and bad input."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.fixtures.accounts import User, admin, signup
from tickhub.runtime import Runtime

SESSION_KEYS = {
    "coins_bought",
    "coins_sold",
    "crypto_type",
    "ending_balance",
    "ending_coins",
    "id",
    "model_name",
    "number_of_trades",
    "self",
    "session_end",
    "session_name",
    "session_start",
    "starting_balance",
    "starting_coins",
    "type",
}
CREATE_EXAMPLE = {
    "session_name": "test_session_name",
    "type": "test_session",
    "model_name": "test_model",
    "starting_balance": 1000.0,
    "starting_coins": 0.0,
    "crypto_type": "BTCUSDT",
}
SEED_TIME = re.compile(r"^\d{2}/\d{2}/\d{4}, \d{2}:\d{2}:\d{2}$")
MISSING = {"error": "Missing required field(s)."}


@pytest.fixture
async def user(client: httpx.AsyncClient) -> User:
    return await signup(client, "bot@example.com")


async def make_session(client: httpx.AsyncClient, user: User, **fields: Any) -> dict[str, Any]:
    r = await client.post("/session", json={**CREATE_EXAMPLE, **fields}, headers=user.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def buy(
    client: httpx.AsyncClient,
    user: User,
    sid: int,
    kind: str,
    amount: float,
    value: float,
    **f: Any,
) -> dict[str, Any]:
    body = {"type": kind, "amount": amount, "value": value, **f}
    r = await client.post(f"/session/{sid}/transaction", json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


# ---------------------------------------------------------------- README examples


async def test_create_session_as_in_the_readme(client: httpx.AsyncClient, user: User) -> None:
    r = await client.post("/session/", json=CREATE_EXAMPLE, headers=user.headers)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == SESSION_KEYS
    assert body["self"] == f"http://testserver/session/{body['id']}"
    assert SEED_TIME.match(body["session_start"])
    assert {k: body[k] for k in CREATE_EXAMPLE} == CREATE_EXAMPLE
    for key in ("coins_bought", "coins_sold", "ending_balance", "ending_coins"):
        assert body[key] is None
    assert body["number_of_trades"] is None and body["session_end"] is None
    assert isinstance(body["id"], int)


async def test_get_session_adds_transaction_url_and_total(
    client: httpx.AsyncClient, user: User
) -> None:
    created = await make_session(client, user)
    r = await client.get(f"/session/{created['id']}", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == SESSION_KEYS | {"transaction_total", "transaction_url"}
    assert body["transaction_total"] == 0
    assert body["transaction_url"] == f"http://testserver/session/{created['id']}/transaction"
    assert {k: body[k] for k in SESSION_KEYS} == created


async def test_patch_session_as_in_the_readme(client: httpx.AsyncClient, user: User) -> None:
    created = await make_session(client, user)
    patch = {
        "ending_balance": 800.0,
        "ending_coins": 5.0,
        "coins_sold": 100,
        "coins_bought": 95,
        "number_of_trades": 1000,
    }
    r = await client.patch(f"/session/{created['id']}", json=patch, headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == SESSION_KEYS
    assert {k: body[k] for k in patch} == patch
    assert body["session_name"] == "test_session_name"
    assert body["session_start"] == created["session_start"]


async def test_patch_never_changes_id_or_self(client: httpx.AsyncClient, user: User) -> None:
    created = await make_session(client, user)
    sid = created["id"]
    r = await client.patch(
        f"/session/{sid}",
        json={"id": 999, "self": "http://evil/x", "session_name": "renamed"},
        headers=user.headers,
    )
    assert r.status_code == 200
    assert r.json()["id"] == sid and r.json()["self"] == created["self"]
    assert (await client.get("/session/999", headers=user.headers)).status_code == 404
    assert (await client.get(f"/session/{sid}", headers=user.headers)).json()["session_name"] == (
        "renamed"
    )


async def test_list_sessions_shape(client: httpx.AsyncClient, user: User) -> None:
    await make_session(client, user, session_name="a")
    await make_session(client, user, session_name="b")
    r = await client.get("/session", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"next", "total", "sessions"}
    assert body["next"] == "" and body["total"] == 2
    assert [s["session_name"] for s in body["sessions"]] == ["a", "b"]
    assert all(set(s) == SESSION_KEYS for s in body["sessions"])


async def test_session_start_accepts_seed_and_iso_formats(
    client: httpx.AsyncClient, user: User
) -> None:
    seed = await make_session(client, user, session_start="01/30/2023, 14:23:57")
    assert seed["session_start"] == "01/30/2023, 14:23:57"
    iso = await make_session(
        client, user, session_start="2023-01-30T16:23:57+02:00", session_end="2023-01-31T00:00Z"
    )
    assert iso["session_start"] == "01/30/2023, 14:23:57"
    assert iso["session_end"] == "01/31/2023, 00:00:00"


async def test_delete_session_204_cascades_to_transactions(
    client: httpx.AsyncClient, user: User
) -> None:
    sid = (await make_session(client, user))["id"]
    tx = await buy(client, user, sid, "Purchase", 1, 100)
    r = await client.delete(f"/session/{sid}", headers=user.headers)
    assert r.status_code == 204 and r.content == b""
    assert (await client.get(f"/session/{sid}", headers=user.headers)).json() == {
        "error": "No session with that session_id was found."
    }
    gone = await client.get(f"/session/{sid}/transaction/{tx['id']}", headers=user.headers)
    assert gone.status_code == 404
    assert (await client.delete(f"/session/{sid}", headers=user.headers)).status_code == 404


async def test_wrapper_round_trip_counts_all_pages(client: httpx.AsyncClient, user: User) -> None:
    """The seed client's test: create adds one, delete removes one; PATCH keeps the name."""
    before = (await client.get("/session", headers=user.headers)).json()["total"]
    sid = (await make_session(client, user))["id"]
    assert (await client.get("/session", headers=user.headers)).json()["total"] == before + 1
    r = await client.patch(f"/session/{sid}", json={"ending_balance": 1.5}, headers=user.headers)
    assert r.json()["session_name"] == CREATE_EXAMPLE["session_name"]
    assert (await client.delete(f"/session/{sid}", headers=user.headers)).status_code == 204
    assert (await client.get("/session", headers=user.headers)).json()["total"] == before


# ---------------------------------------------------------------- pagination


async def test_sessions_pagination_follows_next(client: httpx.AsyncClient, user: User) -> None:
    for i in range(7):
        await make_session(client, user, session_name=f"s{i}")
    url: str = "/session?limit=3"
    names: list[str] = []
    pages = 0
    while url:
        body = (await client.get(url, headers=user.headers)).json()
        assert body["total"] == 7
        names += [s["session_name"] for s in body["sessions"]]
        pages += 1
        url = body["next"]
        if url:
            assert url.startswith("http://testserver/session?limit=3&offset=")
    assert pages == 3 and names == [f"s{i}" for i in range(7)]
    r = await client.get("/session?limit=500", headers=user.headers)
    assert len(r.json()["sessions"]) == 7 and r.json()["next"] == ""
    bad = await client.get("/session?limit=x", headers=user.headers)
    assert bad.status_code == 400 and "limit" in bad.json()["error"]


async def test_transactions_pagination_and_total(client: httpx.AsyncClient, user: User) -> None:
    sid = (await make_session(client, user))["id"]
    for step in (3, 1, 2, 5, 4):
        await buy(client, user, sid, "Purchase", 1, 10, step=step)
    url: str | None = f"/session/{sid}/transaction?limit=2"
    steps: list[int] = []
    while url:
        body = (await client.get(url, headers=user.headers)).json()
        assert set(body) == {"self", "next", "total_transactions", "transactions"}
        assert body["total_transactions"] == 5
        steps += [t["step"] for t in body["transactions"]]
        url = body["next"]
    assert steps == [1, 2, 3, 4, 5]
    detail = (await client.get(f"/session/{sid}", headers=user.headers)).json()
    assert detail["transaction_total"] == 5
    # The original code's plural path answers too.
    plural = await client.get(f"/session/{sid}/transactions", headers=user.headers)
    assert plural.json()["total_transactions"] == 5


# ---------------------------------------------------------------- transactions


async def test_transaction_crud(client: httpx.AsyncClient, user: User) -> None:
    sid = (await make_session(client, user))["id"]
    tx = await buy(
        client, user, sid, "Purchase", 0.5, 11000.0, transaction_date_time="02/15/2023, 19:00:00"
    )
    assert set(tx) == {
        "id",
        "transaction_id",
        "session_id",
        "type",
        "crypto_type",
        "amount",
        "value",
        "transaction_date_time",
        "step",
        "self",
    }
    assert tx["crypto_type"] == "BTCUSDT" and tx["session_id"] == sid
    assert tx["transaction_date_time"] == "02/15/2023, 19:00:00"
    url = f"/session/{sid}/transaction/{tx['id']}"
    assert tx["self"] == f"http://testserver{url}"
    assert (await client.get(url, headers=user.headers)).json() == tx
    r = await client.patch(url, json={"type": "Sale", "value": 12000}, headers=user.headers)
    assert r.status_code == 200 and r.json()["type"] == "Sale" and r.json()["value"] == 12000
    assert (await client.delete(url, headers=user.headers)).status_code == 204
    assert (await client.get(url, headers=user.headers)).status_code == 404


async def test_transaction_of_another_session_is_404(client: httpx.AsyncClient, user: User) -> None:
    a = (await make_session(client, user))["id"]
    b = (await make_session(client, user))["id"]
    tx = await buy(client, user, a, "Sale", 1, 1)
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(
            method, f"/session/{b}/transaction/{tx['id']}", json={}, headers=user.headers
        )
        assert r.status_code == 404
        assert r.json() == {
            "error": "Transaction not found with that transaction id and/or session id."
        }
    assert (
        await client.get(f"/session/{a}/transaction/{tx['id']}", headers=user.headers)
    ).is_success


# ---------------------------------------------------------------- derived figures


async def test_figures_derive_from_transactions(client: httpx.AsyncClient, user: User) -> None:
    sid = (await make_session(client, user, starting_balance=1000, starting_coins=1))["id"]
    await buy(client, user, sid, "Purchase", 0.1, 300.1)
    await buy(client, user, sid, "Purchase", 0.2, 600.2)
    await buy(client, user, sid, "Sale", 0.25, 800)
    body = (await client.get(f"/session/{sid}", headers=user.headers)).json()
    assert body["coins_bought"] == pytest.approx(0.3)
    assert body["coins_sold"] == 0.25
    assert body["number_of_trades"] == 3
    assert body["ending_coins"] == pytest.approx(1.05)
    assert body["ending_balance"] == pytest.approx(899.7)
    derived = body["derived"]
    assert derived["profit_loss"] == pytest.approx(-100.3)
    assert derived["disagrees"] == []
    listed = (await client.get("/session", headers=user.headers)).json()["sessions"][0]
    assert listed["number_of_trades"] == 3 and listed["derived"] == derived


async def test_client_set_figure_wins_but_disagreement_is_shown(
    client: httpx.AsyncClient, user: User
) -> None:
    sid = (await make_session(client, user))["id"]
    await buy(client, user, sid, "Purchase", 2, 100)
    r = await client.patch(
        f"/session/{sid}", json={"coins_bought": 5, "number_of_trades": 1}, headers=user.headers
    )
    body = r.json()
    assert body["coins_bought"] == 5 and body["number_of_trades"] == 1
    assert body["derived"]["coins_bought"] == 2
    assert body["derived"]["disagrees"] == ["coins_bought"]
    # Null goes back to the derived value.
    r = await client.patch(f"/session/{sid}", json={"coins_bought": None}, headers=user.headers)
    assert r.json()["coins_bought"] == 2 and r.json()["derived"]["disagrees"] == []


async def test_amounts_are_exact(client: httpx.AsyncClient, user: User) -> None:
    sid = (await make_session(client, user, starting_balance=0, starting_coins=0))["id"]
    for _ in range(10):
        await buy(client, user, sid, "Sale", 0.1, 0.1)
    body = (await client.get(f"/session/{sid}", headers=user.headers)).json()
    assert body["coins_sold"] == 1.0 and body["ending_balance"] == 1.0


# ---------------------------------------------------------------- ownership


async def test_users_cannot_touch_each_others_sessions(
    client: httpx.AsyncClient, user: User, runtime: Runtime
) -> None:
    other = await signup(client, "other@example.com")
    sid = (await make_session(client, user))["id"]
    tx = await buy(client, user, sid, "Purchase", 1, 1)
    h = other.headers
    assert (await client.get("/session", headers=h)).json()["total"] == 0
    assert (await client.get(f"/session/{sid}", headers=h)).status_code == 404
    assert (await client.patch(f"/session/{sid}", json={"type": "x"}, headers=h)).status_code == 404
    assert (await client.delete(f"/session/{sid}", headers=h)).status_code == 404
    assert (await client.get(f"/session/{sid}/transaction", headers=h)).status_code == 404
    post = await client.post(
        f"/session/{sid}/transaction", json={"type": "Sale", "amount": 1, "value": 1}, headers=h
    )
    assert post.status_code == 404
    item = f"/session/{sid}/transaction/{tx['id']}"
    assert (await client.get(item, headers=h)).status_code == 404
    assert (await client.delete(item, headers=h)).status_code == 404
    assert (await client.get(f"/session/{sid}", headers=user.headers)).json()["type"] == (
        "test_session"
    )
    root = await admin(runtime, client)
    assert (await client.get("/session", headers=root.headers)).json()["total"] == 1
    assert (await client.get(item, headers=root.headers)).status_code == 200
    assert (await client.delete(f"/session/{sid}", headers=root.headers)).status_code == 204


async def test_api_key_and_no_credentials(client: httpx.AsyncClient, user: User) -> None:
    r = await client.post("/v1/api-keys", json={"name": "bot"}, headers=user.headers)
    key = {"X-API-Key": r.json()["key"]}
    r = await client.post("/session", json=CREATE_EXAMPLE, headers=key)
    assert r.status_code == 201
    assert (await client.get(f"/session/{r.json()['id']}", headers=user.headers)).is_success
    assert (await client.get("/session")).status_code == 401


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "missing", ["session_name", "type", "starting_balance", "starting_coins", "crypto_type"]
)
async def test_missing_required_field(client: httpx.AsyncClient, user: User, missing: str) -> None:
    body = {k: v for k, v in CREATE_EXAMPLE.items() if k != missing}
    r = await client.post("/session", json=body, headers=user.headers)
    assert r.status_code == 400 and r.json() == MISSING
    assert (await client.get("/session", headers=user.headers)).json()["total"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("starting_balance", "lots"),
        ("starting_balance", -1),
        ("starting_coins", True),
        ("session_start", "yesterday"),
        ("session_start", "13/45/2023, 10:00:00"),
        ("number_of_trades", 1.5),
        ("model_id", 12345),
        ("colour", "red"),
    ],
)
async def test_bad_session_values(
    client: httpx.AsyncClient, user: User, field: str, value: Any
) -> None:
    r = await client.post("/session", json={**CREATE_EXAMPLE, field: value}, headers=user.headers)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]
    assert (await client.get("/session", headers=user.headers)).json()["total"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"type": "Purchase", "amount": 1},
        {"type": "testing", "amount": 1, "value": 1},
        {"type": "Purchase", "amount": -1, "value": 1},
        {"type": "Purchase", "amount": 0, "value": 1},
        {"type": "Sale", "amount": 1, "value": -5},
        {"type": "Sale", "amount": 1, "value": 1, "transaction_date_time": "not a date"},
        {"type": "Sale", "amount": 1, "value": 1, "step": -1},
        ["not", "an", "object"],
    ],
)
async def test_bad_transactions_are_400_and_write_nothing(
    client: httpx.AsyncClient, user: User, body: Any
) -> None:
    sid = (await make_session(client, user))["id"]
    r = await client.post(f"/session/{sid}/transaction", json=body, headers=user.headers)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"error"}
    after = (await client.get(f"/session/{sid}", headers=user.headers)).json()
    assert after["transaction_total"] == 0


async def test_bad_patch_changes_nothing(client: httpx.AsyncClient, user: User) -> None:
    created = await make_session(client, user)
    sid = created["id"]
    r = await client.patch(
        f"/session/{sid}",
        json={"session_name": "new", "starting_coins": -3},
        headers=user.headers,
    )
    assert r.status_code == 400
    r = await client.patch(f"/session/{sid}", json={"session_name": None}, headers=user.headers)
    assert r.status_code == 400
    r = await client.patch(
        f"/session/{sid}", json={"session_end": "01/01/2000, 00:00:00"}, headers=user.headers
    )
    assert r.status_code == 400
    got = (await client.get(f"/session/{sid}", headers=user.headers)).json()
    assert {k: got[k] for k in SESSION_KEYS} == created


async def test_malformed_json_and_odd_ids(client: httpx.AsyncClient, user: User) -> None:
    r = await client.post(
        "/session",
        content=b"{not json",
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "error" in r.json()
    for sid in ("abc", "0", "-1", "99999999999999999999999"):
        r = await client.get(f"/session/{sid}", headers=user.headers)
        assert r.status_code == 404 and set(r.json()) == {"error"}


async def test_unauthenticated_seed_000_calls_get_the_seed_error_body(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/session")
    assert r.status_code == 401
    assert set(r.json()) == {"error"}
    assert r.headers["www-authenticate"].startswith("Bearer")
