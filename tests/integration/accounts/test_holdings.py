"""Seed 003 wallets (the user's and the market's) and resources: validation, uniqueness
and ownership (a user never reaches another user's objects; an admin does)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.fixtures.accounts import (
    SEED_ATOI,
    SEED_RMS_1,
    SEED_RMS_2,
    SEED_RMS_3,
    User,
    admin,
    iota_address,
    seed_error,
    seed_invalid,
    signup,
)
from tickhub.runtime import Runtime

WALLET = "/api/user/wallet-address"
MARKET_WALLET = "/api/market/wallet-address"
RESOURCE = "/api/user/resource"


@pytest.fixture
async def ada(client: httpx.AsyncClient) -> User:
    return await signup(client, "ada@example.com")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> User:
    return await signup(client, "bob@example.com")


@pytest.fixture
async def root(client: httpx.AsyncClient, runtime: Runtime) -> User:
    return await admin(runtime, client)


async def _rows(runtime: Runtime, table: str) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


# ---------------------------------------------------------------- user wallets


async def test_wallet_register_read_update(client: httpx.AsyncClient, ada: User) -> None:
    r = await client.post(WALLET, json={"wallet_address": SEED_RMS_1}, headers=ada.headers)
    assert r.status_code == 200
    data = r.json()["data"]
    assert set(r.json()) == {"code", "data"}
    assert data["wallet_address"] == SEED_RMS_1
    assert data["registered_at"].endswith("Z")
    assert set(data) == {"wallet_address", "registered_at"}

    r = await client.get(WALLET, headers=ada.headers)
    assert r.json()["data"] == [
        {"user": ada.id, "wallet_address": SEED_RMS_1, "registered_at": data["registered_at"]}
    ]
    # A second address: the seed says use PUT.
    r = await client.post(WALLET, json={"wallet_address": SEED_RMS_3}, headers=ada.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(
        409, "This user already has an address. Use PUT method to update it."
    )
    r = await client.put(WALLET, json={"wallet_address": SEED_RMS_3}, headers=ada.headers)
    assert r.status_code == 200
    assert r.json()["data"]["wallet_address"] == SEED_RMS_3
    r = await client.get(WALLET, headers=ada.headers)
    assert [w["wallet_address"] for w in r.json()["data"]] == [SEED_RMS_3]


async def test_put_without_a_wallet_is_409(client: httpx.AsyncClient, ada: User) -> None:
    r = await client.put(WALLET, json={"wallet_address": SEED_RMS_1}, headers=ada.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(409, "This user does not have a wallet address yet.")


@pytest.mark.parametrize(
    "address",
    [
        SEED_ATOI,
        SEED_RMS_2,
        iota_address(1, "iota"),
        iota_address(2, "smr"),
        iota_address(3, "atoi", kind=8),  # an alias address
        SEED_ATOI.upper(),  # Bech32 may be all upper case; stored in lower case
        f" {SEED_ATOI}\n",  # text is trimmed, as DRF does
    ],
)
async def test_valid_addresses(client: httpx.AsyncClient, ada: User, address: str) -> None:
    r = await client.post(WALLET, json={"wallet_address": address}, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["wallet_address"] == address.strip().lower()


@pytest.mark.parametrize(
    "address",
    [
        SEED_ATOI[:-3] + "aaa",  # bad checksum (seed 003's own example)
        iota_address(4, "bc"),  # valid Bech32, not an IOTA network
        iota_address(5, "atoi", size=20),  # wrong length
        iota_address(6, "atoi", kind=3),  # unknown address type
        SEED_ATOI[:10] + SEED_ATOI[10:].upper(),  # mixed case
        "0x52908400098527886E0F7030069857D2E4169EE7",
    ],
)
async def test_bad_address_is_400_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, ada: User, address: str
) -> None:
    r = await client.post(WALLET, json={"wallet_address": address}, headers=ada.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid({"wallet_address": ["Invalid wallet address."]})
    assert await _rows(runtime, "user_wallets") == 0


async def test_wallet_missing_or_wrong_type(client: httpx.AsyncClient, ada: User) -> None:
    r = await client.post(WALLET, json={}, headers=ada.headers)
    assert r.json() == seed_invalid({"wallet_address": ["This field is required."]})
    r = await client.post(WALLET, json={"wallet_address": ["x"]}, headers=ada.headers)
    assert r.json() == seed_invalid({"wallet_address": ["Not a valid string."]})


async def test_an_address_belongs_to_one_user(
    client: httpx.AsyncClient, ada: User, bob: User
) -> None:
    taken = seed_invalid(
        {"wallet_address": ["user wallet address with this wallet address already exists."]}
    )
    r = await client.post(WALLET, json={"wallet_address": SEED_RMS_1}, headers=ada.headers)
    assert r.status_code == 200
    r = await client.post(WALLET, json={"wallet_address": SEED_RMS_1}, headers=ada.headers)
    assert r.json() == taken  # the seed: posting one's own address again is a 400 too
    r = await client.post(WALLET, json={"wallet_address": SEED_RMS_1}, headers=bob.headers)
    assert r.status_code == 400
    assert r.json() == taken
    r = await client.post(WALLET, json={"wallet_address": SEED_RMS_2}, headers=bob.headers)
    assert r.status_code == 200
    r = await client.put(WALLET, json={"wallet_address": SEED_RMS_1}, headers=bob.headers)
    assert r.json() == taken
    # Each sees only their own.
    r = await client.get(WALLET, headers=bob.headers)
    assert [w["wallet_address"] for w in r.json()["data"]] == [SEED_RMS_2]
    r = await client.get(WALLET, params={"user": ada.id}, headers=bob.headers)
    assert [w["wallet_address"] for w in r.json()["data"]] == [SEED_RMS_2]


async def test_admin_sees_every_wallet(
    client: httpx.AsyncClient, ada: User, bob: User, root: User
) -> None:
    await client.post(WALLET, json={"wallet_address": SEED_RMS_1}, headers=ada.headers)
    await client.post(WALLET, json={"wallet_address": SEED_RMS_2}, headers=bob.headers)
    r = await client.get(WALLET, headers=root.headers)
    assert {w["wallet_address"] for w in r.json()["data"]} == {SEED_RMS_1, SEED_RMS_2}
    r = await client.get(WALLET, params={"user": bob.id}, headers=root.headers)
    assert [w["user"] for w in r.json()["data"]] == [bob.id]


# ---------------------------------------------------------------- the market's wallet


async def test_market_wallet_is_set_by_admins_and_read_by_users(
    client: httpx.AsyncClient, runtime: Runtime, ada: User, root: User
) -> None:
    r = await client.get(MARKET_WALLET, headers=ada.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(
        409, "Market wallet address not found. Register an address first."
    )
    r = await client.post(MARKET_WALLET, json={"wallet_address": SEED_ATOI}, headers=ada.headers)
    assert r.status_code == 403
    assert r.json() == seed_error(403, "You do not have permission to perform this action.")
    r = await client.post(MARKET_WALLET, json={"wallet_address": SEED_ATOI})
    assert r.status_code == 401

    r = await client.post(MARKET_WALLET, json={"wallet_address": SEED_ATOI}, headers=root.headers)
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["wallet_address"] == SEED_ATOI
    assert set(data) == {"wallet_address", "registered_at"}

    # The seed's own checks, in its order.
    r = await client.post(MARKET_WALLET, json={"wallet_address": SEED_ATOI}, headers=root.headers)
    assert r.json() == seed_invalid(
        {"wallet_address": ["market wallet address with this wallet address already exists."]}
    )
    second = SEED_ATOI[:-3] + "aaa"
    r = await client.post(MARKET_WALLET, json={"wallet_address": second}, headers=root.headers)
    assert r.status_code == 409
    assert r.json() == seed_error(
        409, "A market address was already registered. Use PUT method to update it."
    )
    r = await client.put(MARKET_WALLET, json={"wallet_address": second}, headers=root.headers)
    assert r.json() == seed_invalid({"wallet_address": ["Invalid wallet address."]})
    r = await client.put(MARKET_WALLET, json={"wallet_address": SEED_RMS_1}, headers=ada.headers)
    assert r.status_code == 403
    r = await client.put(MARKET_WALLET, json={"wallet_address": SEED_RMS_1}, headers=root.headers)
    assert r.status_code == 200

    r = await client.get(MARKET_WALLET, headers=ada.headers)
    assert r.status_code == 200
    assert r.json()["data"]["wallet_address"] == SEED_RMS_1
    assert await _rows(runtime, "market_wallet") == 1


async def test_put_market_wallet_before_any_is_409(client: httpx.AsyncClient, root: User) -> None:
    r = await client.put(MARKET_WALLET, json={"wallet_address": SEED_ATOI}, headers=root.headers)
    assert r.status_code == 409
    assert r.json()["message"] == "Market wallet address not found. Register an address first."


# ---------------------------------------------------------------- resources


async def test_resource_create_list_update_delete(client: httpx.AsyncClient, ada: User) -> None:
    body = {"name": "u1-resource-1", "type": "measurements", "to_forecast": True}
    r = await client.post(RESOURCE, json=body, headers=ada.headers)
    assert r.status_code == 201
    assert r.json()["code"] == 201
    made = r.json()["data"]
    assert set(made) == {"id", "name", "type", "to_forecast", "registered_at", "user"}
    assert {k: made[k] for k in body} == body
    assert made["user"] == ada.id

    for extra in (
        {"name": "u1-resource-2", "type": "measurements", "to_forecast": False},
        {"name": "u1-resource-3", "type": "forecasts", "to_forecast": False},
        {"name": "u1-resource-1", "type": "forecasts", "to_forecast": False},  # other type
    ):
        assert (await client.post(RESOURCE, json=extra, headers=ada.headers)).status_code == 201

    r = await client.get(RESOURCE, headers=ada.headers)
    assert len(r.json()["data"]) == 4
    r = await client.get(RESOURCE, params={"resource": made["id"]}, headers=ada.headers)
    assert [x["id"] for x in r.json()["data"]] == [made["id"]]
    r = await client.get(RESOURCE, params={"name": "u1-resource-1"}, headers=ada.headers)
    assert len(r.json()["data"]) == 2
    r = await client.get(RESOURCE, params={"to_forecast": "true"}, headers=ada.headers)
    assert [x["name"] for x in r.json()["data"]] == ["u1-resource-1"]
    r = await client.get(f"{RESOURCE}/{made['id']}", headers=ada.headers)
    assert r.json()["data"]["id"] == made["id"]

    r = await client.patch(
        f"{RESOURCE}/{made['id']}", json={"name": "new-resource-1"}, headers=ada.headers
    )
    assert r.status_code == 200
    assert r.json()["data"]["id"] == made["id"]
    assert r.json()["data"]["name"] == "new-resource-1"
    assert r.json()["data"]["to_forecast"] is True

    r = await client.delete(f"{RESOURCE}/{made['id']}", headers=ada.headers)
    assert r.status_code == 200
    assert r.json() == {
        "code": 200,
        "data": f"Resource ID {made['id']} deleted for user ada@example.com.",
    }
    r = await client.get(RESOURCE, params={"resource": made["id"]}, headers=ada.headers)
    assert r.json()["data"] == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"name": "Bad Name", "type": "measurements", "to_forecast": False},
            {
                "name": [
                    "Resource name cannot contain any upper-case characters, spaces or any "
                    "special characters besides '-' or '_'."
                ]
            },
        ),
        (
            {"name": "a" * 65, "type": "measurements", "to_forecast": False},
            {"name": ["Ensure this field has no more than 64 characters."]},
        ),
        (
            {"name": "ok", "type": "weather", "to_forecast": False},
            {"type": ['"weather" is not a valid choice.']},
        ),
        (
            {"name": "ok", "type": "measurements", "to_forecast": "maybe"},
            {"to_forecast": ["Must be a valid boolean."]},
        ),
        (
            {"type": "measurements"},
            {"name": ["This field is required."], "to_forecast": ["This field is required."]},
        ),
        (
            {"name": "ok", "type": "forecasts", "to_forecast": True},
            {
                "resource_type": [
                    "You can only request forecasts for resources with 'measurements' "
                    "resource type."
                ],
                "to_forecast": [
                    "You can only request forecasts for resources with 'measurements' "
                    "resource type."
                ],
            },
        ),
    ],
)
async def test_resource_rules(
    client: httpx.AsyncClient, runtime: Runtime, ada: User, body: dict[str, object], errors: object
) -> None:
    r = await client.post(RESOURCE, json=body, headers=ada.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid(errors)
    assert await _rows(runtime, "resources") == 0


async def test_resource_unique_per_user_name_and_type(
    client: httpx.AsyncClient, runtime: Runtime, ada: User, bob: User
) -> None:
    body = {"name": "park-1", "type": "measurements", "to_forecast": True}
    assert (await client.post(RESOURCE, json=body, headers=ada.headers)).status_code == 201
    r = await client.post(RESOURCE, json=body, headers=ada.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid(
        {"non_field_errors": ["The fields user, name, type must make a unique set."]}
    )
    # Another user may use the same name.
    assert (await client.post(RESOURCE, json=body, headers=bob.headers)).status_code == 201
    # Renaming onto an existing (name, type) is refused too, and changes nothing.
    other = {"name": "park-2", "type": "measurements", "to_forecast": False}
    second = (await client.post(RESOURCE, json=other, headers=ada.headers)).json()["data"]
    r = await client.patch(
        f"{RESOURCE}/{second['id']}", json={"name": "park-1"}, headers=ada.headers
    )
    assert r.status_code == 400
    r = await client.patch(
        f"{RESOURCE}/{second['id']}",
        json={"type": "forecasts", "to_forecast": True},
        headers=ada.headers,
    )
    assert r.status_code == 400
    r = await client.get(RESOURCE, params={"resource": second["id"]}, headers=ada.headers)
    assert r.json()["data"][0]["name"] == "park-2"
    assert r.json()["data"][0]["type"] == "measurements"
    assert await _rows(runtime, "resources") == 3


async def test_query_parameters_are_checked(client: httpx.AsyncClient, ada: User) -> None:
    r = await client.get(RESOURCE, params={"resource": "not-a-uuid"}, headers=ada.headers)
    assert r.json() == seed_invalid(["Query param 'resource' must be a valid uuid."])
    r = await client.get(RESOURCE, params={"to_forecast": "yes"}, headers=ada.headers)
    assert r.json() == seed_invalid(["Query param 'to_forecast' must be a boolean (true/false)"])
    r = await client.get(RESOURCE, params={"name": "Bad Name"}, headers=ada.headers)
    assert r.status_code == 400


async def test_a_user_cannot_reach_another_users_resource(
    client: httpx.AsyncClient, runtime: Runtime, ada: User, bob: User, root: User
) -> None:
    body = {"name": "u1-resource-1", "type": "measurements", "to_forecast": True}
    made = (await client.post(RESOURCE, json=body, headers=ada.headers)).json()["data"]
    url = f"{RESOURCE}/{made['id']}"
    not_found = seed_error(409, "Resource ID not found.")

    r = await client.get(RESOURCE, params={"resource": made["id"]}, headers=bob.headers)
    assert r.status_code == 200
    assert r.json()["data"] == []
    assert (await client.get(RESOURCE, headers=bob.headers)).json()["data"] == []
    r = await client.get(RESOURCE, params={"user": ada.id}, headers=bob.headers)
    assert r.json()["data"] == []
    cases: tuple[tuple[str, dict[str, Any]], ...] = (
        ("GET", {}),
        ("PATCH", {"json": {"name": "stolen"}}),
        ("DELETE", {}),
    )
    for method, kwargs in cases:
        r = await client.request(method, url, headers=bob.headers, **kwargs)
        assert r.status_code == 409, method
        assert r.json() == not_found, method
    # An unknown id looks the same as someone else's.
    r = await client.delete(f"{RESOURCE}/00000000-0000-0000-0000-000000000000", headers=bob.headers)
    assert r.json() == not_found
    r = await client.get(url, headers=ada.headers)
    assert r.json()["data"]["name"] == "u1-resource-1"

    # An admin sees and changes every user's resources; the owner stays the owner.
    r = await client.get(RESOURCE, headers=root.headers)
    assert [x["id"] for x in r.json()["data"]] == [made["id"]]
    r = await client.get(RESOURCE, params={"user": ada.id}, headers=root.headers)
    assert len(r.json()["data"]) == 1
    r = await client.patch(url, json={"to_forecast": False}, headers=root.headers)
    assert r.status_code == 200
    assert r.json()["data"]["user"] == ada.id
    r = await client.delete(url, headers=root.headers)
    assert r.status_code == 200
    assert await _rows(runtime, "resources") == 0
