"""The gateway (`tickhub.gateway`): limits, CORS, request ids, security headers, metrics
and the access log, through the real app."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from tests.conftest import store
from tickhub.app import create_app
from tickhub.gateway import current_request_id
from tickhub.marketdata.events import Trade
from tickhub.public import require_authentication
from tickhub.runtime import Runtime
from tickhub.settings import GatewaySettings, Settings

MiB = 1024 * 1024
T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in µs
SECRETS = ("SecretPass-b0dy", "SecretTok-hdr", "SecretKey-hdr", "SecretTok-qry", "SecretCookie")


class Signup(BaseModel):
    email: str
    password: str = Field(min_length=12)


def _settings(tmp_path: Path, **gateway: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'tickhub.db'}",
        sources=[],
        gateway=GatewaySettings(_env_file=None, **gateway),
    )


def _app(settings: Settings) -> FastAPI:
    """The real app (no lifespan needed: these routes touch no database) plus three
    routes that read a body in different ways and one that crashes."""
    app = create_app(settings)
    # These tests are about the gateway: the test routes below skip authentication
    # (every route is private unless `tickhub.public` lists it).
    app.dependency_overrides[require_authentication] = lambda: None

    @app.post("/v1/test/signup")
    async def signup(body: Signup) -> dict[str, str]:
        return {"email": body.email}

    @app.post("/v1/test/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/v1/test/swallow")
    async def swallow(request: Request) -> dict[str, str]:
        try:
            await request.body()
        except Exception:
            return {"read": "failed"}  # a route that hides the broken read
        return {"read": "ok"}

    @app.get("/v1/test/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    @app.get("/v1/test/whoami")
    async def whoami() -> dict[str, str | None]:
        return {"request_id": current_request_id()}

    return app


MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[MakeClient]:
    opened: list[httpx.AsyncClient] = []

    def make(
        *,
        client_addr: str = "127.0.0.1",
        base_url: str = "http://testserver",
        raise_app_exceptions: bool = True,
        **gateway: object,
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(
            app=_app(_settings(tmp_path, **gateway)),
            client=(client_addr, 1234),
            raise_app_exceptions=raise_app_exceptions,
        )
        c = httpx.AsyncClient(transport=transport, base_url=base_url)
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


@pytest.fixture
async def gw(make_client: MakeClient) -> httpx.AsyncClient:
    return make_client()


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


# ------------------------------------------------------------------------- body limit


async def test_body_over_the_limit_by_content_length_is_413_before_reading(
    gw: httpx.AsyncClient,
) -> None:
    r = await gw.post("/v1/test/raw", content=b"x" * (MiB + 1))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 413
    assert str(MiB) in body["detail"]
    assert r.headers["x-request-id"]

    ok = await gw.post("/v1/test/raw", content=b"x" * MiB)
    assert ok.status_code == 200
    assert ok.json() == {"bytes": MiB}


async def test_streamed_body_over_the_limit_is_413(gw: httpx.AsyncClient) -> None:
    # An async iterator is sent chunked, without Content-Length: only counting can tell.
    for path in ("/v1/test/raw", "/v1/test/signup", "/v1/test/swallow"):
        r = await gw.post(path, content=_chunks(MiB + 1))
        assert r.status_code == 413, path
        assert "content-length" not in {k.lower() for k in r.request.headers}
    small = await gw.post("/v1/test/raw", content=_chunks(1000))
    assert small.status_code == 200
    assert small.json() == {"bytes": 1000}


async def test_the_limit_comes_from_settings(make_client: MakeClient) -> None:
    c = make_client(max_body_bytes=10)
    assert (await c.post("/v1/test/raw", content=b"x" * 10)).status_code == 200
    assert (await c.post("/v1/test/raw", content=b"x" * 11)).status_code == 413
    assert (await c.post("/v1/test/raw", content=_chunks(11, size=3))).status_code == 413


async def test_limit_errors_keep_the_seed_envelopes(gw: httpx.AsyncClient) -> None:
    big = b"x" * (MiB + 1)
    r = await gw.post("/api/user/register", content=big)  # seed 003
    assert r.status_code == 413
    assert r.json()["code"] == 413
    assert r.json()["status"] == "error"
    assert r.json()["data"] is None
    assert str(MiB) in r.json()["message"]
    r = await gw.post("/api/crypto_price/", content=big)  # seed 004
    assert r.status_code == 413
    assert set(r.json()) == {"detail"}
    r = await gw.post("/session/", content=big)  # seed 000
    assert r.status_code == 413
    assert set(r.json()) == {"error"}


async def test_an_unreadable_content_length_is_400(gw: httpx.AsyncClient) -> None:
    r = await gw.post("/v1/test/raw", content=b"{}", headers={"content-length": "lots"})
    assert r.status_code == 400


# ------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/token", 10), ("/api/token/refresh/", 10), ("/api/user/register", 5)],
)
async def test_login_and_registration_are_rate_limited(
    make_client: MakeClient, path: str, limit: int
) -> None:
    c = make_client()
    body = {"email": "nobody@example.com", "password": "not-the-password"}
    for _ in range(limit):
        assert (await c.post(path, json=body)).status_code != 429
    r = await c.post(path, json=body)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.json()["code"] == 429  # seed 003's envelope
    assert r.json()["status"] == "error"
    assert r.headers["x-request-id"]

    # Keyed by client address: another client is not affected ...
    other = make_client(client_addr="10.9.8.7")
    assert (await other.post(path, json=body)).status_code != 429
    # ... and the other classes keep their own budget.
    assert (await c.post("/v1/test/raw", content=b"{}")).status_code == 200


async def test_writes_are_limited_and_reads_are_not(make_client: MakeClient) -> None:
    c = make_client(rate_limit_writes="3/minute")
    for _ in range(3):
        assert (await c.post("/v1/test/raw", content=b"{}")).status_code == 200
    r = await c.delete("/v1/test/raw")
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert "3 per 1 minute" in r.json()["detail"]
    for _ in range(200):
        assert (await c.get("/healthz")).status_code == 200


async def test_a_read_limit_can_be_set(make_client: MakeClient) -> None:
    c = make_client(rate_limit_reads="2/minute")
    codes = [(await c.get("/openapi.json")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert (await c.get("/healthz")).status_code == 200  # probes never count


# ------------------------------------------------------------------------------- CORS


async def test_cors_preflight_from_an_allowed_and_a_refused_origin(
    make_client: MakeClient,
) -> None:
    c = make_client(cors_origins="https://dash.example, https://other.example")
    preflight = {"access-control-request-method": "POST"}
    ok = await c.options("/v1/test/raw", headers={"origin": "https://dash.example", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://dash.example"
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert ok.headers["x-request-id"]

    refused = await c.options(
        "/v1/test/raw", headers={"origin": "https://evil.example", **preflight}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    simple = await c.get("/healthz", headers={"origin": "https://dash.example"})
    assert simple.headers["access-control-allow-origin"] == "https://dash.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_no_cors_headers_without_configured_origins(gw: httpx.AsyncClient) -> None:
    r = await gw.get("/healthz", headers={"origin": "https://dash.example"})
    assert "access-control-allow-origin" not in r.headers


# ------------------------------------------------------------------------- request id


async def test_request_id_is_echoed_or_made(make_client: MakeClient) -> None:
    c = make_client(rate_limit_writes="2/minute")
    sane = "req-42.a_B"
    assert (await c.get("/healthz", headers={"x-request-id": sane})).headers["x-request-id"] == sane
    for bad in ("x" * 129, "has space", "back\\slash", "ümlaut".encode(), ""):
        # httpx takes str or bytes values; its annotation wants one kind per mapping
        r = await c.get("/healthz", headers={"x-request-id": bad})  # type: ignore[arg-type]
        made = r.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), bad
    a = (await c.get("/healthz")).headers["x-request-id"]
    b = (await c.get("/healthz")).headers["x-request-id"]
    assert a != b
    # Route code sees the same id (for its own log lines).
    r = await c.get("/v1/test/whoami")
    assert r.json() == {"request_id": r.headers["x-request-id"]}
    # On errors too: 404, 422, 413, 429 (the third write of two allowed).
    h = {"x-request-id": sane}
    errors = {
        404: await c.get("/nowhere", headers=h),
        422: await c.post("/v1/test/signup", json={"email": "a@example.com"}, headers=h),
        413: await c.put("/v1/test/raw", content=b"x" * (MiB + 1), headers=h),
        429: await c.post("/v1/test/raw", content=b"{}", headers=h),
    }
    for status, r in errors.items():
        assert r.status_code == status
        assert r.headers["x-request-id"] == sane


async def test_a_crash_is_a_500_with_request_id_and_headers(make_client: MakeClient) -> None:
    c = make_client(raise_app_exceptions=False)
    r = await c.get("/v1/test/crash", headers={"x-request-id": "crash-1"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "crash-1"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "boom" not in r.text


# ------------------------------------------------------------------- security headers


async def test_security_headers_on_every_response(make_client: MakeClient) -> None:
    c = make_client()
    for r in (await c.get("/healthz"), await c.get("/nowhere"), await c.get("/openapi.json")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in r.headers  # plain http
        assert "cache-control" not in r.headers  # a public GET may be cached

    tls = make_client(base_url="https://testserver")
    r = await tls.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_no_store_on_writes_auth_and_credentialed_requests(gw: httpx.AsyncClient) -> None:
    assert (await gw.post("/v1/test/raw", content=b"{}")).headers["cache-control"] == "no-store"
    assert (await gw.post("/api/token", json={})).headers["cache-control"] == "no-store"
    r = await gw.get("/healthz", headers={"authorization": "Bearer abc"})
    assert r.headers["cache-control"] == "no-store"
    r = await gw.get("/healthz", headers={"x-api-key": "abc"})
    assert r.headers["cache-control"] == "no-store"


async def test_docs_are_served_locally_under_a_nonce_csp(gw: httpx.AsyncClient) -> None:
    r = await gw.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None
    assert f'<script nonce="{nonce[1]}">' in r.text
    assert "cdn." not in r.text  # nothing from a CDN
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', r.text):
        a = await gw.get(asset)
        assert a.status_code == 200, asset
        assert len(a.content) > 1000
    redoc = await gw.get("/redoc/")
    assert redoc.status_code == 200
    assert (await gw.get("/docs/assets/redoc.standalone.js")).status_code == 200
    assert (await gw.get("/docs/oauth2-redirect")).status_code == 200


# ----------------------------------------------------------------------------- metrics


async def test_metrics_count_requests_by_route_template_and_pipeline_figures(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    trades = [Trade(i, T0 + i * 1000, 100.0 + i, 0.5) for i in range(1, 6)]
    assert await store(runtime, "binance", "BTCUSDT", trades) == 5
    assert await store(runtime, "binance", "BTCUSDT", trades[:2]) == 0  # duplicates
    await runtime.bus.join()
    assert (await client.get("/v1/prices/binance/BTCUSDT")).status_code == 200
    assert (await client.get("/v1/prices/binance/BTCUSDT/")).status_code == 200
    assert (await client.get("/v1/prices/kraken/NOPE")).status_code == 404
    assert (await client.get("/no/such/page/SecretTok-qry")).status_code == 404

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    route = 'route="/v1/prices/{exchange}/{symbol}"'
    assert f'tickhub_http_requests_total{{method="GET",{route},status="200"}} 2.0' in text
    assert f'tickhub_http_requests_total{{method="GET",{route},status="404"}} 1.0' in text
    assert 'tickhub_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert f'tickhub_http_request_duration_seconds_count{{method="GET",{route},status="200"}}' in (
        text
    )
    # Labels hold templates, never raw paths.
    assert "BTCUSDT" not in text
    assert "kraken" not in text
    assert "SecretTok" not in text

    stats = runtime.bus.stats
    assert f"tickhub_bus_published_total {float(stats.published)}" in text
    assert f"tickhub_bus_delivered_total {float(stats.delivered)}" in text
    assert "tickhub_bus_dead_lettered_total 0.0" in text
    assert "tickhub_writer_trades_received_total 7.0" in text
    assert "tickhub_writer_trades_new_total 5.0" in text
    assert "tickhub_writer_trades_duplicate_total 2.0" in text
    assert "tickhub_writer_last_trade_timestamp_seconds" in text
    assert "process_cpu_seconds_total" in text


async def test_metrics_show_the_event_loop_lag_of_a_served_app(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    async with app.router.lifespan_context(app):
        probe = app.state.loop_lag
        assert probe.running
        probe.figures.add(0.04)  # as if a step had held the loop for 40 ms
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            text = (await c.get("/metrics")).text
    assert not probe.running
    count = re.search(r"^tickhub_event_loop_lag_seconds_count (\S+)$", text, re.MULTILINE)
    assert count is not None and float(count[1]) >= 1
    assert f'tickhub_event_loop_lag_seconds_bucket{{le="+Inf"}} {count[1]}' in text
    assert 'tickhub_event_loop_lag_seconds_bucket{le="0.03"}' in text
    assert re.search(r"^tickhub_event_loop_lag_max_seconds 0\.0[4-9]", text, re.MULTILINE)


async def test_metrics_count_gateway_refusals_under_their_route(
    make_client: MakeClient,
) -> None:
    c = make_client(rate_limit_writes="1/minute")
    await c.post("/v1/test/raw", content=b"{}")
    await c.post("/v1/test/raw", content=b"{}")
    text = (await c.get("/metrics")).text
    assert 'tickhub_http_requests_total{method="POST",route="/v1/test/raw",status="429"} 1.0' in (
        text
    )


# -------------------------------------------------------------------- logs and secrets


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):  # the test's client, not the app
            self.lines.append(record.getMessage())


async def _post_secrets(c: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
    """A password in the body, tokens in headers, query and cookie; then a refused one."""
    r = await c.post(
        "/v1/test/signup?token=SecretTok-qry&password=SecretTok-qry",
        json={"email": "a@example.com", "password": "SecretPass-b0dy"},
        headers={
            "authorization": "Bearer SecretTok-hdr",
            "x-api-key": "SecretKey-hdr",
            "cookie": "session=SecretCookie",
            "x-request-id": "log-1",
        },
    )
    short = await c.post(
        "/v1/test/signup", json={"email": "a@example.com", "password": "SecretPass"}
    )
    return r, short


async def test_access_log_is_one_json_line_without_secrets(
    gw: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The lines as written, before any redaction filter on the root handlers sees them.
    access, everything_logged = _Collect(), _Collect()
    logging.getLogger("tickhub.access").addHandler(access)
    root = logging.getLogger()
    root.handlers.insert(0, everything_logged)
    try:
        r, short = await _post_secrets(gw)
    finally:
        logging.getLogger("tickhub.access").removeHandler(access)
        root.removeHandler(everything_logged)
    assert r.status_code == 200
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"

    assert len(access.lines) == 2
    entry = json.loads(access.lines[0])
    assert set(entry) == {
        "time",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "client",
        "bytes",
    }
    assert entry["request_id"] == "log-1"
    assert entry["method"] == "POST"
    assert entry["route"] == "/v1/test/signup"
    assert entry["status"] == 200
    assert entry["client"] == "127.0.0.1"
    assert entry["bytes"] == len(r.content)
    assert json.loads(access.lines[1])["status"] == 422
    assert entry["time"].endswith("Z")
    assert entry["duration_ms"] >= 0

    everything = "\n".join([*everything_logged.lines, r.text, short.text])
    for secret in (*SECRETS, "SecretPass"):
        assert secret not in everything, secret


async def test_sign_up_and_sign_in_leave_no_secret_in_logs_or_responses(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raw = _Collect()
    root = logging.getLogger()
    root.handlers.insert(0, raw)  # ahead of any redacting handler: what the code itself logged
    password = "Pw-SecretPass-b0dy-8891"
    user = {"email": "leak@example.com", "password": password}
    try:
        responses = [
            await client.post(
                "/api/user/register", json={**user, "first_name": "L", "last_name": "K"}
            )
        ]
        link = responses[0].json()["data"].get("verification_link")
        if link:
            responses.append(await client.get(httpx.URL(link).path))
        responses.append(await client.post("/api/token", json={**user, "password": "wrong-1"}))
        login = await client.post("/api/token", json=user)
        assert login.status_code == 200, login.text
        issued = [login.json()["access"], login.json()["refresh"]]
        responses += [
            await client.get("/v1/me", headers={"authorization": f"Bearer {issued[0]}"}),
            await client.get("/v1/me", headers={"authorization": "Bearer SecretTok-hdr"}),
            await client.get("/v1/me", headers={"x-api-key": "th_SecretKey-hdr"}),
            await client.get("/v1/me?token=SecretTok-qry"),
            await client.post("/api/token/refresh", json={"refresh": "SecretTok-body"}),
        ]
    finally:
        root.removeHandler(raw)
    assert [r.status_code for r in responses][-4:] == [401, 401, 401, 401]
    logged = "\n".join(raw.lines)
    for secret in (password, "wrong-1", *issued, "SecretTok", "SecretKey"):
        assert secret not in logged, secret
    for r in responses:
        for secret in (password, "wrong-1", "SecretTok", "SecretKey"):
            assert secret not in r.text, (r.request.url, secret)


async def test_malformed_json_is_a_400_naming_the_body(gw: httpx.AsyncClient) -> None:
    for bad in (b'{"email": "a@example.com", ', b"\xff\xfe", b"nul"):
        r = await gw.post(
            "/v1/test/signup", content=bad, headers={"content-type": "application/json"}
        )
        assert r.status_code == 400, bad
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "body"
        assert r.json()["errors"][0]["field"] == "body"
        assert "malformed JSON" in r.json()["detail"]
    r = await gw.post("/v1/test/signup", json=[1, 2])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
