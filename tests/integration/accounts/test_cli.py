"""`tickhub admin create --email E --password P`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.fixtures.accounts import PASSWORD, login, signup
from tickhub.cli import app
from tickhub.runtime import Runtime


@pytest.fixture
def env(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return {
        "TICKHUB_DATABASE_URL": runtime.settings.resolved_database_url,
        "TICKHUB_DATA_DIR": str(runtime.settings.data_dir),
        "TICKHUB_ENV": "test",
        "TICKHUB_AUTH_ARGON2_TIME_COST": "2",
        "TICKHUB_AUTH_ARGON2_MEMORY_KIB": "19456",
        "TICKHUB_AUTH_ARGON2_PARALLELISM": "1",
        "TICKHUB_LOG_LEVEL": "WARNING",
    }


async def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """In a thread: the command runs its own event loop."""
    result = await asyncio.to_thread(CliRunner().invoke, app, ["admin", "create", *args], env=env)
    return result.exit_code, result.output


async def test_admin_create(client: httpx.AsyncClient, env: dict[str, str]) -> None:
    code, out = await _run(env, "--email", "Root@Example.com", "--password", PASSWORD)
    assert code == 0, out
    assert "admin root@example.com created" in out
    root = await login(client, "root@example.com")
    r = await client.get("/v1/me", headers=root.headers)
    assert r.json()["is_admin"] is True
    assert r.json()["is_verified"] is True

    code, out = await _run(env, "--email", "new@example.com", "--password", "12345")
    assert code == 1
    assert "too short" in out
    code, out = await _run(env, "--email", "not-an-address", "--password", PASSWORD)
    assert code == 2
    assert PASSWORD not in out


async def test_admin_create_promotes_an_existing_account_only_with_the_flag(
    client: httpx.AsyncClient, env: dict[str, str]
) -> None:
    """Whoever registered the admin's address first must not become admin by it."""
    squatter = await signup(client, "ada@example.com")
    r = await client.post("/v1/api-keys", json={"name": "bot"}, headers=squatter.headers)
    assert r.status_code == 201, r.text
    key = {"X-API-Key": r.json()["key"]}

    code, out = await _run(env, "--email", "ada@example.com", "--password", "the-admins-own-42")
    assert code == 1, out
    assert "--promote-existing" in out
    assert (await client.get("/v1/me", headers=squatter.headers)).json()["is_admin"] is False

    code, out = await _run(
        env, "--email", "ada@example.com", "--password", "the-admins-own-42", "--promote-existing"
    )
    assert code == 0, out
    assert "now an admin" in out
    # The squatter's password, tokens and keys no longer work.
    assert (await client.get("/v1/me", headers=squatter.headers)).status_code == 401
    assert (await client.get("/v1/me", headers=key)).status_code == 401
    r = await client.post("/api/token/refresh", json={"refresh": squatter.refresh})
    assert r.status_code == 401
    r = await client.post("/api/token", json={"email": "ada@example.com", "password": PASSWORD})
    assert r.status_code == 400
    root = await login(client, "ada@example.com", "the-admins-own-42")
    assert (await client.get("/v1/me", headers=root.headers)).json()["is_admin"] is True
