"""Rate limits that hold: the client address is the peer's unless a trusted proxy
forwarded it, writes count per principal, the strict class counts per account too, and
several API processes share their counts through Redis."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import service_unavailable
from tests.fixtures.accounts import PASSWORD, signup
from tests.fixtures.served import served
from tickhub.app import create_app
from tickhub.gateway import close_gateway
from tickhub.runtime import Runtime
from tickhub.settings import GatewaySettings, Settings

REDIS_URL = "redis://127.0.0.1:6379/0"


def _settings(tmp_path: Path, **gateway: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'tickhub.db'}",
        sources=[],
        gateway=GatewaySettings(_env_file=None, **gateway),
    )


def _client(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


# ---------------------------------------------------------------- forwarded addresses


@contextlib.asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[str]:
    async with served(settings) as port:
        yield f"http://127.0.0.1:{port}"


async def test_a_client_cannot_choose_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Compose used to set (`FORWARDED_ALLOW_IPS=*`) no longer lets a client name its
    own address in X-Forwarded-For: without a trusted proxy, the peer's address counts."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    settings = _settings(tmp_path, rate_limit_writes="2/minute")
    async with _served(settings) as base, httpx.AsyncClient(base_url=base) as c:
        codes = [
            (await c.post("/v1/nowhere", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(3)
        ]
    assert codes == [404, 404, 429]


async def test_the_trusted_proxy_forwards_the_client_address(tmp_path: Path) -> None:
    """Behind nginx (here: a proxy on loopback, trusted by configuration), each client
    has its own budget, and only the proxy's word counts."""
    settings = _settings(tmp_path, rate_limit_writes="1/minute", trusted_proxies="127.0.0.1,::1")
    async with _served(settings) as base, httpx.AsyncClient(base_url=base) as c:
        for i in range(3):
            r = await c.post("/v1/nowhere", headers={"X-Forwarded-For": f"203.0.113.{i}"})
            assert r.status_code == 404
        r = await c.post("/v1/nowhere", headers={"X-Forwarded-For": "203.0.113.0"})
        assert r.status_code == 429

    untrusted = _settings(tmp_path, rate_limit_writes="1/minute", trusted_proxies="192.0.2.1")
    async with _served(untrusted) as base, httpx.AsyncClient(base_url=base) as c:
        codes = [
            (await c.post("/v1/nowhere", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(2)
        ]
    assert codes == [404, 429]


# ---------------------------------------------------------------- per principal


@pytest.fixture
def limited(settings: Settings) -> Settings:
    settings.gateway = GatewaySettings(
        _env_file=None,
        rate_limit_writes="2/minute",
        rate_limit_principal_writes="4/minute",
        rate_limit_login="100/minute",
        rate_limit_registration="100/minute",
        rate_limit_account="3/minute",
    )
    return settings


@pytest.fixture
async def app(limited: Settings, runtime: Runtime) -> FastAPI:
    runtime.settings = limited
    return create_app(runtime=runtime)


async def test_writes_count_per_principal(app: FastAPI) -> None:
    """Two bots behind one address (or NAT) each have their budget; an API key is a
    principal of its own; anonymous writes from that address have theirs."""
    async with _client(app) as c:
        ada = await signup(c, "ada@example.com")
        bob = await signup(c, "bob@example.com")
        r = await c.post("/v1/api-keys", json={"name": "bot"}, headers=ada.headers)
        assert r.status_code == 201
        key = {"X-API-Key": r.json()["key"]}  # write 1 of ada's token

        def patch(headers: dict[str, str]) -> Any:
            return c.patch("/v1/me", json={"first_name": "X"}, headers=headers)

        assert [(await patch(ada.headers)).status_code for _ in range(4)] == [200] * 3 + [429]
        r = await patch(ada.headers)
        assert "writes per principal" in r.json()["detail"]
        assert [(await patch(bob.headers)).status_code for _ in range(4)] == [200] * 4
        assert [(await patch(key)).status_code for _ in range(5)] == [200] * 4 + [429]
        # Anonymous writes count per address: refused by authentication, not the budget.
        assert [(await patch({})).status_code for _ in range(3)] == [401, 401, 429]
        # Credentials that do not hold count as anonymous ones.
        bad = {"Authorization": "Bearer not-a-token"}
        assert (await patch(bad)).status_code == 429


# ---------------------------------------------------------------- the strict class


async def test_sign_in_attempts_count_per_account_from_every_address(app: FastAPI) -> None:
    async with _client(app) as c:
        await signup(c, "ada@example.com")
    body = {"email": "Ada@Example.com ", "password": "guess-1234567"}
    codes = []
    for i in range(4):
        async with _client(app, f"198.51.100.{i}") as c:
            codes.append((await c.post("/api/token", json=body)).status_code)
    assert codes == [400, 429, 429, 429]  # signup's registration and sign-in counted
    # Form-encoded bodies name the account just as well; other accounts are untouched.
    async with _client(app, "198.51.100.9") as c:
        r = await c.post("/api/token", data={"email": "ada@example.com", "password": PASSWORD})
        assert r.status_code == 429
        assert "one account" in r.text
        r = await c.post("/api/token", json={"email": "bob@example.com", "password": "x"})
        assert r.status_code == 400


@pytest.mark.parametrize(
    "path", ["/api/user/verify/generate-link", "/api/user/request-reset-email"]
)
async def test_verification_links_and_reset_mails_are_strict(
    limited: Settings, runtime: Runtime, path: str
) -> None:
    limited.gateway = GatewaySettings(
        _env_file=None, rate_limit_login="2/minute", rate_limit_registration="2/minute"
    )
    runtime.settings = limited
    app = create_app(runtime=runtime)
    async with _client(app) as c:
        codes = []
        for i in range(3):  # a different account each time: the address's budget
            body = {"email": f"user{i}@example.com", "password": "whatever-123"}
            codes.append((await c.post(path, json=body)).status_code)
        assert codes[:2] != [429, 429]
        assert codes[2] == 429
    async with _client(app, "198.51.100.1") as c:
        r = await c.post(path, json={"email": "user0@example.com", "password": "whatever-123"})
        assert r.status_code != 429


# ---------------------------------------------------------------- shared through Redis


async def _redis_or_skip() -> None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", 6379), 5)
    except (OSError, TimeoutError) as exc:
        service_unavailable("Redis at 127.0.0.1:6379", repr(exc))
    writer.close()
    await writer.wait_closed()


@pytest.fixture
async def key_prefix() -> AsyncIterator[str]:
    """A prefix of this test's own; its keys are deleted afterwards."""
    await _redis_or_skip()
    import redis.asyncio as aioredis

    prefix = f"tickhub-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_api_processes_share_the_counts_through_redis(
    tmp_path: Path, key_prefix: str
) -> None:
    def process() -> FastAPI:
        settings = _settings(
            tmp_path, rate_limit_writes="3/minute", rate_limit_key_prefix=key_prefix
        )
        settings.redis_url = REDIS_URL
        return create_app(settings)

    one, two = process(), process()
    async with _client(one) as a, _client(two) as b:
        codes = [
            (await a.post("/v1/nowhere")).status_code,
            (await b.post("/v1/nowhere")).status_code,
            (await a.post("/v1/nowhere")).status_code,
            (await b.post("/v1/nowhere")).status_code,
            (await a.post("/v1/nowhere")).status_code,
        ]
    for app in (one, two):  # as their lifespans would when they stop
        await close_gateway(app)
    assert codes == [404, 404, 404, 429, 429]


class _Proxy:
    """A loopback TCP proxy to Redis that the test can cut."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._pipes:
            w.close()
        await self._server.wait_closed()


async def test_limits_hold_in_memory_while_redis_is_unreachable(
    tmp_path: Path, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = _Proxy()
    await proxy.start()
    settings = _settings(tmp_path, rate_limit_writes="2/minute", rate_limit_key_prefix=key_prefix)
    settings.redis_url = f"redis://127.0.0.1:{proxy.port}/0?socket_connect_timeout=2"
    app = create_app(settings)
    async with _client(app) as c:
        assert (await c.post("/v1/nowhere")).status_code == 404
        await proxy.cut()
        codes = [(await c.post("/v1/nowhere")).status_code for _ in range(3)]
    await close_gateway(app)
    assert codes == [404, 404, 429]
    assert "rate-limit storage unreachable" in caplog.text
