"""The profile, password change and reset, settings, API keys, and the user list."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from tests.fixtures.accounts import (
    PASSWORD,
    admin,
    login,
    path_of,
    register,
    seed_error,
    signup,
)
from tests.integration.conftest import AccountsEnv
from tickhub.runtime import Runtime

NEW_PASSWORD = "Quiet-Orchard-Sparrow-42"


# ---------------------------------------------------------------- profile


async def test_profile_read_and_change(client: httpx.AsyncClient) -> None:
    user = await signup(client, "ada@example.com")
    r = await client.get("/v1/me", headers=user.headers)
    assert r.status_code == 200
    me = r.json()
    assert me == {
        "id": user.id,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "is_verified": True,
        "is_admin": False,
        "created_at": me["created_at"],
    }
    assert me["created_at"].endswith("Z")
    r = await client.patch("/v1/me", json={"first_name": "Augusta"}, headers=user.headers)
    assert r.status_code == 200
    assert r.json()["first_name"] == "Augusta"
    assert r.json()["last_name"] == "Lovelace"
    r = await client.patch("/v1/me", json={"first_name": ""}, headers=user.headers)
    assert r.status_code == 422
    r = await client.patch("/v1/me", json={"email": "eve@example.com"}, headers=user.headers)
    assert r.status_code == 422


# ---------------------------------------------------------------- password change


async def test_password_change_needs_the_old_password_and_signs_out(
    accounts_env: AccountsEnv,
) -> None:
    c, clock = accounts_env.client, accounts_env.clock
    user = await signup(c, "ada@example.com", mailer=accounts_env.mailer)
    r = await c.post(
        "/v1/me/password",
        json={"current_password": "not-it-at-all", "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert r.status_code == 400
    assert r.json()["field"] == "current_password"
    r = await c.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "12345678901"},
        headers=user.headers,
    )
    assert r.status_code == 400
    assert r.json()["field"] == "new_password"
    assert "entirely numeric" in r.json()["detail"]

    clock.advance(seconds=5)
    r = await c.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert r.status_code == 204
    # Every session is signed out: the old access and refresh tokens are refused.
    assert (await c.get("/v1/me", headers=user.headers)).status_code == 401
    r = await c.post("/api/token/refresh", json={"refresh": user.refresh})
    assert r.status_code == 401
    r = await c.post("/api/token", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 400
    clock.advance(seconds=1)
    assert (await login(c, user.email, NEW_PASSWORD)).access


# ---------------------------------------------------------------- password reset


async def test_password_reset_link_is_signed_single_use_and_expires(
    accounts_env: AccountsEnv,
) -> None:
    c, clock, mailer = accounts_env.client, accounts_env.clock, accounts_env.mailer
    r = await register(c, "ada@example.com")
    # With SMTP the verification link is mailed, not returned.
    assert r.json()["data"]["verification_link"] is None
    assert (await c.get(path_of(mailer.last_link()))).status_code == 200
    user = await login(c, "ada@example.com")

    answer = {"success": "If your email exists on the system an email has been sent to you"}
    r = await c.post("/api/user/request-reset-email", json={"email": "nobody@example.com"})
    assert r.json() == answer
    assert len(mailer.sent) == 1  # nothing sent for an unknown address
    r = await c.post("/api/user/request-reset-email", json={"email": "ada@example.com"})
    assert r.status_code == 200
    assert r.json() == answer
    to, _subject, _body = mailer.sent[-1]
    assert to == "ada@example.com"
    link = path_of(mailer.last_link())
    _, uidb64, token = link.rsplit("/", 2)

    r = await c.get(link)
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "message": "Credentials Valid",
        "uidb64": uidb64,
        "token": token,
    }
    r = await c.get(f"/api/user/password-reset-confirm/{uidb64}/{token[:-2]}xx")
    assert r.status_code == 400
    assert r.json() == {"error": "Token is not valid"}

    body = {"password": "short", "uidb64": uidb64, "token": token}
    r = await c.patch("/api/user/password-reset-complete", json=body)
    assert r.status_code == 400
    assert r.json() == {"password": ["Ensure this field has at least 6 characters."]}
    body["password"] = "password123"
    r = await c.patch("/api/user/password-reset-complete", json=body)
    assert r.json() == {"password": ["This password is too common."]}

    clock.advance(seconds=2)
    body["password"] = NEW_PASSWORD
    r = await c.patch("/api/user/password-reset-complete", json=body)
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Password reset success"}
    assert (await c.get("/v1/me", headers=user.headers)).status_code == 401
    assert (await login(c, "ada@example.com", NEW_PASSWORD)).access

    # Single use: the same link again is refused.
    r = await c.get(link)
    assert r.json() == {"error": "Token has already been used"}
    body["password"] = "Another-Fine-Passphrase"
    r = await c.patch("/api/user/password-reset-complete", json=body)
    assert r.status_code == 400
    assert r.json() == {"token": ["Invalid token"]}

    # Expiring: a fresh link is refused once its hour is over.
    await c.post("/api/user/request-reset-email", json={"email": "ada@example.com"})
    late = path_of(mailer.last_link())
    clock.advance(seconds=accounts_env.runtime.settings.auth.reset_ttl_s + 1)
    assert (await c.get(late)).json() == {"error": "Token is not valid"}


async def test_without_smtp_no_reset_link_is_sent_or_shown(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await signup(client, "ada@example.com")
    r = await client.post("/api/user/request-reset-email", json={"email": "ada@example.com"})
    assert r.status_code == 200
    assert "password-reset-confirm" not in r.text
    assert "password-reset-confirm" not in caplog.text
    r = await client.post("/api/user/request-reset-email", json={"email": "not-an-address"})
    assert r.status_code == 400
    assert r.json() == {"email": ["Enter a valid email address."]}


# ---------------------------------------------------------------- settings


async def test_settings_document(client: httpx.AsyncClient) -> None:
    user = await signup(client, "ada@example.com")
    other = await signup(client, "bob@example.com")
    assert (await client.get("/v1/me/settings", headers=user.headers)).json() == {}
    doc = {"theme": "dark", "alerts": {"email": True, "telegram": False}, "symbols": ["BTCUSDT"]}
    r = await client.put("/v1/me/settings", json=doc, headers=user.headers)
    assert r.status_code == 200
    assert r.json() == doc
    patch = {"alerts": {"telegram": True}, "theme": None}
    r = await client.patch("/v1/me/settings", json=patch, headers=user.headers)
    assert r.json() == {"alerts": {"email": True, "telegram": True}, "symbols": ["BTCUSDT"]}
    assert (await client.get("/v1/me/settings", headers=other.headers)).json() == {}
    r = await client.put("/v1/me/settings", json=[1, 2], headers=user.headers)
    assert r.status_code == 422
    r = await client.put("/v1/me/settings", json={"blob": "x" * 70_000}, headers=user.headers)
    assert r.status_code == 400
    assert r.json()["field"] == "settings"
    deep: dict[str, object] = {}
    for _ in range(40):
        deep = {"x": deep}
    r = await client.patch("/v1/me/settings", json=deep, headers=user.headers)
    assert r.status_code == 400
    r = await client.put(
        "/v1/me/settings",
        content=b'{"ratio": NaN}',
        headers={**user.headers, "content-type": "application/json"},
    )
    assert r.status_code in {400, 422}
    got = (await client.get("/v1/me/settings", headers=user.headers)).json()
    assert "blob" not in got
    assert "x" not in got
    assert "ratio" not in got


# ---------------------------------------------------------------- API keys


async def test_api_keys_shown_once_hashed_at_rest_and_revocable(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await signup(client, "ada@example.com")
    r = await client.post("/v1/api-keys", json={"name": "grid bot"}, headers=user.headers)
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith(f"th_{created['prefix']}_")
    assert len(key) > 50
    assert created["revoked_at"] is None

    listed = (await client.get("/v1/api-keys", headers=user.headers)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert key not in (await client.get("/v1/api-keys", headers=user.headers)).text

    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM api_keys"))).all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    assert key not in stored
    assert key.split("_", 2)[2] not in stored

    # The key works as X-API-Key, and its use is recorded.
    r = await client.get("/v1/me", headers={"X-API-Key": key})
    assert r.status_code == 200
    assert r.json()["id"] == user.id
    assert (await client.get("/api/user/resource", headers={"X-API-Key": key})).status_code == 200
    got = (await client.get(f"/v1/api-keys/{created['id']}", headers=user.headers)).json()
    assert got["last_used_at"] is not None

    # A key cannot make keys.
    r = await client.post("/v1/api-keys", json={"name": "x"}, headers={"X-API-Key": key})
    assert r.status_code == 403

    bad = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for wrong in (bad, "th_000000000000_nothing", "nonsense"):
        r = await client.get("/v1/me", headers={"X-API-Key": wrong})
        assert r.status_code == 401

    r = await client.delete(f"/v1/api-keys/{created['id']}", headers=user.headers)
    assert r.status_code == 204
    r = await client.get("/v1/me", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.delete(f"/v1/api-keys/{created['id']}", headers=user.headers)
    assert r.status_code == 204  # again: harmless
    listed = (await client.get("/v1/api-keys", headers=user.headers)).json()
    assert listed[0]["revoked_at"] is not None


async def test_keys_belong_to_their_owner(client: httpx.AsyncClient, runtime: Runtime) -> None:
    a = await signup(client, "ada@example.com")
    b = await signup(client, "bob@example.com")
    root = await admin(runtime, client)
    r = await client.post("/v1/api-keys", json={"name": "b's bot"}, headers=b.headers)
    b_key = r.json()

    assert (await client.get("/v1/api-keys", headers=a.headers)).json() == []
    r = await client.get(f"/v1/api-keys/{b_key['id']}", headers=a.headers)
    assert r.status_code == 404
    r = await client.delete(f"/v1/api-keys/{b_key['id']}", headers=a.headers)
    assert r.status_code == 404
    r = await client.get("/v1/api-keys", params={"user_id": b.id}, headers=a.headers)
    assert r.status_code == 403
    assert (await client.get("/v1/me", headers={"X-API-Key": b_key["key"]})).status_code == 200

    r = await client.get("/v1/api-keys", params={"user_id": b.id}, headers=root.headers)
    assert [k["id"] for k in r.json()] == [b_key["id"]]
    r = await client.delete(f"/v1/api-keys/{b_key['id']}", headers=root.headers)
    assert r.status_code == 204
    assert (await client.get("/v1/me", headers={"X-API-Key": b_key["key"]})).status_code == 401


# ---------------------------------------------------------------- users


async def test_user_list_is_for_admins_only(client: httpx.AsyncClient, runtime: Runtime) -> None:
    a = await signup(client, "ada@example.com")
    await signup(client, "bob@example.com")
    root = await admin(runtime, client)
    r = await client.get("/api/user/list", headers=a.headers)
    assert r.status_code == 403
    assert r.json() == {
        "code": 403,
        "data": None,
        "status": "error",
        "message": "You do not have permission to perform this action.",
    }
    r = await client.get("/api/user/list", headers=root.headers)
    assert set(r.json()["data"][0]) == {
        "id",
        "email",
        "first_name",
        "last_name",
        "is_verified",
        "is_superuser",
        "is_staff",
        "date_joined",
    }
    r = await client.get("/api/user/list", headers=root.headers)
    emails = {u["email"] for u in r.json()["data"]}
    assert emails == {"ada@example.com", "bob@example.com", "root@example.com"}
    assert "password" not in r.text


async def test_a_non_admin_gets_403_on_admin_routes(client: httpx.AsyncClient) -> None:
    user = await signup(client, "ada@example.com")
    r = await client.post(
        "/api/market/wallet-address", json={"wallet_address": "x"}, headers=user.headers
    )
    assert r.status_code == 403
    assert r.json() == seed_error(403, "You do not have permission to perform this action.")
