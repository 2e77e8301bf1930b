"""`/healthz` and `/readyz` for the services that serve no web app (`tickhub tracker`,
`writer`, `scanner`), on a small port of their own (`TICKHUB_HEALTH_PORT`).

`/healthz`: the process's event loop answers (200). `/readyz`: every named check passes
(200), else 503; the body says which failed: `{"status": "ready", "checks": {...}}`.
A minimal HTTP/1.0 responder, so these processes need no web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger("tickhub.health")

Check = Callable[[], Awaitable[None]]
"""Returns when the thing it checks is fine; raises (any exception) when it is not."""

CHECK_TIMEOUT_S = 2.0
_MAX_REQUEST_LINE = 1024


class HealthServer:
    def __init__(self, checks: Mapping[str, Check], *, host: str, port: int) -> None:
        self._checks = dict(checks)
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("health: /healthz and /readyz on %s:%d", self._host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        results: dict[str, str] = {}
        for name, check in self._checks.items():
            try:
                async with asyncio.timeout(CHECK_TIMEOUT_S):
                    await check()
                results[name] = "ok"
            except Exception as exc:  # any failure means not ready
                results[name] = f"error: {type(exc).__name__}"
        return all(v == "ok" for v in results.values()), results

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S * 2):
                line = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
            parts = line[:_MAX_REQUEST_LINE].decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            body: dict[str, object]
            if method not in {"GET", "HEAD"}:
                status, body = 405, {"status": "method not allowed"}
            elif path == "/healthz":
                status, body = 200, {"status": "ok"}
            elif path == "/readyz":
                ok, checks = await self.readiness()
                status = 200 if ok else 503
                body = {"status": "ready" if ok else "not ready", "checks": checks}
            else:
                status, body = 404, {"status": "not found"}
            payload = json.dumps(body).encode()
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            head = (
                f"HTTP/1.0 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            ).encode()
            writer.write(head + (b"" if method == "HEAD" else payload))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
