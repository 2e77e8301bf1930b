"""The shipped nginx configuration (deploy/nginx.conf), run by a real nginx on loopback
in front of the app served as `tickhub api` serves it: WebSockets pass on every stream
path, the access log holds no token, and the client address the API sees is the one
nginx saw, whatever the client claims. Skipped where nginx is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import service_unavailable
from tests.fixtures.served import served
from tickhub.settings import GatewaySettings, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@dataclass
class Proxy:
    port: int
    access_log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        service_unavailable("nginx", "not installed (apt-get install nginx)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _configure(tmp: Path, *, api_port: int, port: int) -> Path:
    """The shipped server block, pointed at loopback ports and files under `tmp`, inside
    a minimal main configuration (what the nginx image's own nginx.conf provides)."""
    site = (DEPLOY / "nginx.conf").read_text()
    for shipped, here in (
        ("server api:8000;", f"server 127.0.0.1:{api_port};"),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
    ):
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    site = site.replace("/var/log/nginx/access.log", str(tmp / "access.log"))
    (tmp / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp / "nginx.conf"
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        f"http {{ {temp} access_log {tmp / 'access.log'}; include {tmp / 'site.conf'}; }}\n"
    )
    return main


async def _wait_listening(port: int, process: asyncio.subprocess.Process) -> None:
    """nginx says nothing when it is ready: try to connect until it takes the connection
    (or has exited)."""
    for _ in range(500):
        assert process.returncode is None, "nginx exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError("nginx did not start listening")


@contextlib.asynccontextmanager
async def _behind_nginx(tmp: Path, settings: Settings) -> AsyncIterator[Proxy]:
    nginx = _nginx()
    async with served(settings) as api_port:
        port = _free_port()
        main = _configure(tmp, api_port=api_port, port=port)
        args = ["-c", str(main), "-p", str(tmp)]
        check = await asyncio.create_subprocess_exec(
            nginx, "-t", *args, stderr=asyncio.subprocess.PIPE
        )
        _, err = await check.communicate()
        assert check.returncode == 0, err.decode()
        process = await asyncio.create_subprocess_exec(nginx, *args)
        try:
            await _wait_listening(port, process)
            yield Proxy(port, tmp / "access.log")
        finally:
            process.send_signal(signal.SIGQUIT)  # graceful: the log is complete
            await process.wait()


def _settings(tmp: Path, **gateway: Any) -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'tickhub.db'}",
        sources=[],
        gateway=GatewaySettings(_env_file=None, trusted_proxies="127.0.0.1", **gateway),
    )


async def test_websockets_pass_on_every_stream_path(tmp_path: Path) -> None:
    async with _behind_nginx(tmp_path, _settings(tmp_path)) as proxy:
        # The alert stream upgrades, then closes for want of credentials (4401), where
        # nginx used to answer its plain-HTTP 426.
        async with connect(f"{proxy.ws}/v1/alerts/stream") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        for path in ("/v1/stream", "/v1/stream/"):
            async with connect(f"{proxy.ws}{path}") as ws:
                assert ws.response is not None
                assert ws.response.status_code == 101
        async with httpx.AsyncClient(base_url=proxy.http) as c:
            assert (await c.get("/healthz")).status_code == 200  # plain HTTP is kept alive


async def test_the_access_log_holds_no_token(tmp_path: Path) -> None:
    secrets = [f"SecretTok{i}x" for i in range(4)]
    async with _behind_nginx(tmp_path, _settings(tmp_path)) as proxy:
        async with httpx.AsyncClient(base_url=proxy.http) as c:
            await c.get(f"/v1/alerts/stream?token={secrets[0]}")
            await c.get(f"/api/user/verify/dWlk/{secrets[1]}")
            await c.get(f"/api/user/password-reset-confirm/dWlk/{secrets[2]}/")
        with contextlib.suppress(ConnectionClosed, InvalidStatus):
            async with connect(f"{proxy.ws}/v1/alerts/stream?token={secrets[3]}") as ws:
                await ws.recv()
    log = proxy.access_log.read_text()
    assert log.count("\n") >= 4
    for secret in secrets:
        assert secret not in log
    assert '"GET /api/user/verify/*** HTTP/1.1" 400' in log
    assert '"GET /v1/alerts/stream HTTP/1.1" 401' in log  # over HTTP, without credentials


async def test_the_api_sees_the_address_nginx_saw(tmp_path: Path) -> None:
    """A client's own X-Forwarded-For is replaced by nginx: spoofing it gains no fresh
    rate-limit budget."""
    settings = _settings(tmp_path, rate_limit_writes="2/minute")
    async with (
        _behind_nginx(tmp_path, settings) as proxy,
        httpx.AsyncClient(base_url=proxy.http) as c,
    ):
        codes = [
            (await c.post("/v1/nowhere", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(3)
        ]
    assert codes == [404, 404, 429]
