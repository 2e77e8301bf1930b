"""Seed 003 sign-up, verification, tokens and rotation; forged credentials; the public
route list; no secret in a response or a log. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from tests.fixtures.accounts import (
    PASSWORD,
    login,
    path_of,
    register,
    seed_error,
    seed_invalid,
    signup,
)
from tickhub.accounts.security import Tokens, load_secret_key
from tickhub.app import create_app
from tickhub.runtime import Runtime

EMAIL = "ada@example.com"


def _tokens(runtime: Runtime) -> Tokens:
    """Tokens signed with the server's own key (from the data folder)."""
    return Tokens(load_secret_key(runtime.settings.auth, runtime.settings.data_dir))


# ---------------------------------------------------------------- the whole flow


async def test_register_verify_login_refresh_rotation_and_reuse(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await register(client, "Ada@Example.com")
    assert r.status_code == 201
    body = r.json()
    assert body["code"] == 201
    assert set(body) == {"code", "data"}
    assert body["data"]["email"] == EMAIL
    link = body["data"]["verification_link"]
    assert link.startswith("http://127.0.0.1:8000/api/user/verify/")

    # Not verified yet: the seed refuses the sign-in (plain DRF body, no envelope).
    r = await client.post("/api/token", json={"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 400
    assert r.json() == {"non_field_errors": ["Email not verified"]}

    r = await client.get(path_of(link) + "/")  # trailing slash works too
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Registration Successful" in r.text

    r = await client.post("/api/token", json={"email": "ADA@example.com ", "password": PASSWORD})
    assert r.status_code == 200
    first = r.json()
    assert set(first) == {"access", "refresh"}
    claims = jwt.decode(first["access"], options={"verify_signature": False})
    assert claims["type"] == "access"
    assert claims["email"] == EMAIL
    assert claims["exp"] - claims["iat"] == runtime.settings.auth.access_ttl_s
    assert jwt.get_unverified_header(first["access"])["alg"] == "HS256"

    # Rotation: a new pair; the old refresh token is used up.
    r = await client.post("/api/token/refresh", json={"refresh": first["refresh"]})
    assert r.status_code == 200
    second = r.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {second['access']}"})
    assert r.status_code == 200

    # Reuse of the used token: refused, and the whole family with it.
    r = await client.post("/api/token/refresh", json={"refresh": first["refresh"]})
    assert r.status_code == 401
    assert r.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.post("/api/token/refresh", json={"refresh": second["refresh"]})
    assert r.status_code == 401
    assert r.json()["detail"] == "Token is blacklisted"

    # A new sign-in starts a new family.
    again = await login(client, EMAIL)
    r = await client.post("/api/token/refresh", json={"refresh": again.refresh})
    assert r.status_code == 200


async def test_verification_off_registers_verified_users(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.auth.require_verification = False
    r = await register(client, EMAIL)
    assert r.status_code == 201
    assert r.json() == {"code": 201, "data": {"message": "User registered successfully."}}
    assert (await login(client, EMAIL)).access


async def test_verification_link_errors(client: httpx.AsyncClient, runtime: Runtime) -> None:
    link = (await register(client, EMAIL)).json()["data"]["verification_link"]
    path = path_of(link)
    prefix, token = path.rsplit("/", 1)

    r = await client.get(f"{prefix}/{token[:-3]}abc")
    assert r.status_code == 400
    assert r.json() == seed_invalid({"message": "Validation token is invalid."})

    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    old = datetime.now(UTC) - timedelta(days=3)
    expired, _ = _tokens(runtime).issue(
        sub=user_id, type="verify", now=old, ttl=timedelta(days=1), email=EMAIL
    )
    r = await client.get(f"{prefix}/{expired}")
    assert r.json() == seed_invalid({"message": "Validation token has expired."})

    other = base64.urlsafe_b64encode(b"eve@example.com").decode().rstrip("=")
    r = await client.get(f"/api/user/verify/{other}/{token}")
    assert r.json() == seed_invalid({"message": "Invalid activation link."})

    assert (await client.get(path)).status_code == 200
    r = await client.get(path)
    assert r.status_code == 400
    assert r.json() == seed_invalid({"response": "User is already verified"})


async def test_generate_link_needs_the_password(client: httpx.AsyncClient) -> None:
    await register(client, EMAIL)
    r = await client.post(
        "/api/user/verify/generate-link", json={"email": EMAIL, "password": "wrong-password"}
    )
    assert r.json() == seed_invalid({"non_field_errors": ["Invalid credentials."]})
    r = await client.post(
        "/api/user/verify/generate-link", json={"email": EMAIL, "password": PASSWORD}
    )
    assert r.status_code == 200
    link = r.json()["data"]["verification_link"]
    assert (await client.get(path_of(link))).status_code == 200


# ---------------------------------------------------------------- bad input


async def test_duplicate_email_is_409_in_the_seed_envelope(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await register(client, EMAIL)).status_code == 201
    r = await register(client, "ADA@example.com", password="x")  # checked before the password
    assert r.status_code == 409
    assert r.json() == seed_error(409, "The email 'ada@example.com' already exists!")
    assert await _count(runtime, "users") == 1


@pytest.mark.parametrize(
    ("password", "errors"),
    [
        (
            "normal",
            [
                "This password is too short. It must contain at least 9 characters.",
                "This password is too common.",
            ],
        ),
        ("123456789a", ["This password is too common."]),
        ("1353521989", ["This password is entirely numeric."]),
        ("lovelace77", ["The password is too similar to the last name."]),
        ("ada@example", ["The password is too similar to the email address."]),
    ],
)
async def test_weak_password_is_400_naming_password(
    client: httpx.AsyncClient, runtime: Runtime, password: str, errors: list[str]
) -> None:
    r = await register(client, EMAIL, password=password)
    assert r.status_code == 400
    assert r.json() == seed_invalid({"password": errors})
    assert await _count(runtime, "users") == 0


@pytest.mark.parametrize("missing", ["email", "password", "first_name", "last_name"])
async def test_missing_field_is_named(client: httpx.AsyncClient, missing: str) -> None:
    body = {"email": EMAIL, "password": PASSWORD, "first_name": "Ada", "last_name": "L"}
    del body[missing]
    r = await client.post("/api/user/register", json=body)
    assert r.status_code == 400
    assert r.json() == seed_invalid({missing: ["This field is required."]})


async def test_wrong_fields_are_named_as_the_seed_does(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await client.post(
        "/api/user/register",
        json={"email": "normal.com", "password": PASSWORD, "first_name": "A" * 31, "last_name": ""},
    )
    assert r.json() == seed_invalid(
        {
            "email": ["Enter a valid email address."],
            "first_name": ["Ensure this field has no more than 30 characters."],
            "last_name": ["This field may not be blank."],
        }
    )
    r = await client.post("/api/user/register", json=[1, 2])
    assert r.json() == seed_invalid(
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    )
    r = await client.post(
        "/api/user/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["data"]["detail"].startswith("JSON parse error")
    r = await client.post("/api/token", json={"password": "x"})
    assert r.json() == {"email": ["This field is required."]}
    r = await client.post("/api/token/refresh", json={})
    assert r.status_code == 400
    assert r.json() == {"refresh": ["This field is required."]}
    assert await _count(runtime, "users") == 0


async def test_form_encoded_bodies_work_and_extra_fields_are_ignored(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/api/user/register",
        data={
            "email": EMAIL,
            "password": PASSWORD,
            "password_confirmation": PASSWORD,  # the seed's client sends these two
            "role": "2",
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
    )
    assert r.status_code == 201


async def test_bad_credentials(client: httpx.AsyncClient) -> None:
    await signup(client, EMAIL)
    for body in ({"email": EMAIL, "password": "wrong-pass"}, {"email": "x@y.z", "password": "p"}):
        r = await client.post("/api/token", json=body)
        assert r.status_code == 400
        assert r.json() == {"non_field_errors": ["Invalid login credentials"]}


# ---------------------------------------------------------------- forged credentials


async def test_forged_tokens_are_401(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await signup(client, EMAIL)
    now = datetime.now(UTC)
    claims = jwt.decode(user.access, options={"verify_signature": False})
    header, payload, signature = user.access.split(".")

    def b64(data: dict[str, object]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    key = load_secret_key(runtime.settings.auth, runtime.settings.data_dir)
    admin_payload = b64({**claims, "is_admin": True, "sub": claims["sub"], "exp": 9_999_999_999})
    expired, _ = _tokens(runtime).issue(
        sub=user.id, type="access", now=now - timedelta(hours=2), ttl=timedelta(minutes=15)
    )
    forged = {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "wrong key": jwt.encode(claims, "k" * 64, algorithm="HS256"),
        "HS512": jwt.encode(claims, key, algorithm="HS512"),
        "expired": expired,
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "tampered payload": f"{header}.{admin_payload}.{signature}",
        "refresh as access": user.refresh,
        "garbage": "not-a-token",
    }
    for name, token in forged.items():
        headers = {"Authorization": f"Bearer {token}"}
        r = await client.get("/api/user/resource", headers=headers)
        assert r.status_code == 401, name
        assert r.json() == seed_error(401, "Given token not valid for any token type"), name
        assert r.headers["www-authenticate"].startswith("Bearer"), name
        r = await client.get("/v1/me", headers=headers)
        assert r.status_code == 401, name
        assert r.headers["content-type"] == "application/problem+json", name
    # An access token is no refresh token either.
    r = await client.post("/api/token/refresh", json={"refresh": user.access})
    assert r.status_code == 401
    assert r.json() == {"detail": "Token is invalid or expired", "code": "token_not_valid"}


async def test_no_credentials_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/user/wallet-address")
    assert r.status_code == 401
    assert r.json() == seed_error(401, "Authentication credentials were not provided.")
    assert r.headers["www-authenticate"] == 'Bearer realm="api"'
    r = await client.post("/api/user/resource", json={"name": "x"})
    assert r.status_code == 401
    r = await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401
    assert r.json()["status"] == 401
    assert r.json()["title"] == "Unauthorized"


# ---------------------------------------------------------------- public and private routes


async def test_public_routes_answer_without_credentials(client: httpx.AsyncClient) -> None:
    for path in (
        "/healthz",
        "/openapi.json",
        "/symbols",
        "/exchanges",
        "/v1/exchanges",
        "/v1/prices",
        "/v1/instruments",
        "/api/crypto_price?symbol=BTCUSDT",
    ):
        r = await client.get(path)
        assert r.status_code not in {401, 403}, path


async def test_a_route_added_later_is_private_unless_listed(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    extra = APIRouter()

    @extra.get("/v1/later")
    async def later() -> dict[str, str]:
        return {"secret": "data"}

    app.include_router(extra)

    @app.post("/v1/direct")
    async def direct() -> dict[str, str]:
        return {"also": "private"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/v1/later")).status_code == 401
        assert (await c.post("/v1/direct")).status_code == 401
        user = await signup(c, EMAIL)
        assert (await c.get("/v1/later", headers=user.headers)).json() == {"secret": "data"}


# ---------------------------------------------------------------- secrets stay secret


async def test_passwords_and_tokens_stay_out_of_responses_and_logs(
    client: httpx.AsyncClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    r = await register(client, EMAIL)
    bodies.append(r.text)
    link = r.json()["data"]["verification_link"]
    bodies.append((await client.get(path_of(link))).text)
    r = await client.post("/api/token", json={"email": EMAIL, "password": PASSWORD})
    pair = r.json()
    r = await client.post("/api/token/refresh", json={"refresh": pair["refresh"]})
    new_pair = r.json()
    headers = {"Authorization": f"Bearer {new_pair['access']}"}
    for path in ("/v1/me", "/api/user/list", "/v1/me/settings"):
        bodies.append((await client.get(path, headers=headers)).text)
    bodies.append((await client.post("/api/token", json={"email": EMAIL, "password": "nope"})).text)
    # The server's own records; httpx's are this test's client echoing the URLs it asked.
    logs = "\n".join(rec.getMessage() for rec in caplog.records if not rec.name.startswith("httpx"))
    assert "tickhub.accounts" in {rec.name for rec in caplog.records}
    for secret in (PASSWORD, pair["access"], pair["refresh"], new_pair["refresh"]):
        assert secret not in logs
        assert all(secret not in body for body in bodies)
    assert path_of(link).rsplit("/", 1)[1] not in logs
    # At rest: an Argon2id hash, never the password.
    async with runtime.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT password_hash FROM users"))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


# ---------------------------------------------------------------- helpers


async def _count(runtime: Runtime, table: str) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
