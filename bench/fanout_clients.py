"""The client side of bench/fanout.py: raw-socket WebSocket clients that count what they
receive with byte operations, run in worker processes."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fanout_server import Sampled, Server, pct, profile, sample_server, scrape

# ---------------------------------------------------------------- the clients


_TRADE_ID = b'"trade_id"'
_TIME = b'"time":"'
_PING = 0x89  # an unmasked ping (with uvicorn's 4-byte payload: 0x04 next)
_TAIL = 9  # bytes kept from the last chunk: a marker or a ping split between chunks


_BUFFER = bytearray(256 * 1024)  # one receive buffer per process: chunks are counted at once


class StreamClient(asyncio.BufferedProtocol):
    """One raw WebSocket client: the HTTP upgrade by hand, then the bytes as they come.
    Each chunk is received into the process's one buffer, after the few bytes kept from
    this client's last chunk, and looked at there (no copy, no new bytes object per
    chunk): every client counts its bytes and answers pings (found with `find` of one
    byte, which is memchr; uvicorn closes a client that does not answer its keepalive);
    a `timed` client also counts its trades (`bytearray.count`, never a Python loop per
    frame, but ~1 GB/s: too slow for every client at thousands of them) and takes the
    delay of the last trade time in the chunk (`rfind`)."""

    def __init__(self, run: ClientRun, i: int, timed: bool) -> None:
        self.run, self.i, self.timed = run, i, timed
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.upgraded = False
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.run.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.run.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def get_buffer(self, sizehint: int) -> memoryview:  # noqa: ARG002
        kept = len(self.tail)
        _BUFFER[:kept] = self.tail
        return memoryview(_BUFFER)[kept:]

    def buffer_updated(self, nbytes: int) -> None:
        kept = len(self.tail)
        end = kept + nbytes
        if not self.upgraded:
            self.head += _BUFFER[kept:end]
            at = self.head.find(b"\r\n\r\n")
            if at < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.run.errors["refused"] = self.run.errors.get("refused", 0) + 1
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.run.connected[self.i] = True
            rest, self.head = self.head[at + 4 :], b""
            _BUFFER[: len(rest)] = rest
            kept, end = 0, len(rest)
        now = time.time()
        buf = _BUFFER
        self.tail = bytes(buf[max(0, end - _TAIL) : end])
        at = buf.find(_PING, 0, end)
        while at >= 0 and at + 6 <= end:
            if at + 6 > kept and buf[at + 1] == 4:  # a ping not answered with the last chunk
                assert self.transport is not None
                # a pong, masked with a zero key: the payload goes as it came
                self.transport.write(b"\x8a\x84\x00\x00\x00\x00" + buf[at + 2 : at + 6])
            at = buf.find(_PING, at + 1, end)
        if not self.run.counting:
            return
        self.run.bytes[self.i] += end - kept
        if self.timed:
            self.run.received[self.i] += buf.count(_TRADE_ID, 0, end)
            at = buf.rfind(_TIME, 0, end)
            if at >= 0 and at + 8 + 27 <= end:
                stamp = buf[at + 8 : at + 8 + 27].decode()
                self.run.delays.append(now - datetime.fromisoformat(stamp).timestamp())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.run.connected[self.i] and not self.run.ended:
            self.run.disconnects += 1
            kind = type(exc).__name__ if exc else "closed by the server"
            self.run.errors[kind] = self.run.errors.get(kind, 0) + 1


@dataclass
class ClientRun:
    port: int
    path: str
    n: int
    counting: bool = False
    ended: bool = False
    received: list[int] = field(default_factory=list)  # trades: timed clients only
    bytes: list[int] = field(default_factory=list)
    connected: list[bool] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    disconnects: int = 0
    errors: dict[str, int] = field(default_factory=dict)


async def run_clients(
    port: int,
    n: int,
    window: float,
    bundle: bool,
    connect_rate: float,
    sample_every: int,
) -> dict[str, Any]:
    """`n` raw clients; once told to (a line on stdin: every client of every process is
    connected by then, and warm), count for `window` s. Every client counts its
    bytes; one in `sample_every` also counts its trades and takes the delay of the newest
    trade of each chunk."""
    path = "/v1/stream?instruments=sim:*&channels=trades" + ("&bundle=true" if bundle else "")
    run = ClientRun(port, path, n, received=[0] * n, bytes=[0] * n, connected=[False] * n)
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []

    async def open_one(i: int) -> None:
        try:
            transport, _ = await loop.create_connection(
                lambda: StreamClient(run, i, i % sample_every == 0), "127.0.0.1", port
            )
            transports.append(transport)
        except OSError as exc:
            kind = type(exc).__name__
            run.errors[kind] = run.errors.get(kind, 0) + 1

    opening = []
    for i in range(n):
        opening.append(asyncio.create_task(open_one(i)))
        await asyncio.sleep(1 / connect_rate)
    await asyncio.gather(*opening)
    await loop.run_in_executor(None, sys.stdin.readline)
    run.counting = True
    cpu0 = time.process_time()
    await asyncio.sleep(window)
    cpu_pct = 100 * (time.process_time() - cpu0) / window
    run.counting = False
    run.ended = True
    for transport in transports:
        transport.close()
    return {
        "n": n,
        "connected": sum(run.connected),
        "received": run.received,
        "bytes": run.bytes,
        "timed": [i % sample_every == 0 for i in range(n)],
        "delays": run.delays,
        "disconnects": run.disconnects,
        "errors": run.errors,
        "window": window,
        "cpu_pct": cpu_pct,
    }


def client_worker(args: argparse.Namespace) -> None:
    result = asyncio.run(
        run_clients(
            args.port,
            args.n,
            args.window,
            args.bundle,
            args.connect_rate,
            args.sample_every,
        )
    )
    print(json.dumps(result))


@dataclass
class ClientFigures:
    bundle: bool
    clients: int
    connected: int
    p50_ms: float
    p99_ms: float
    rate_min: float
    rate_median: float
    disconnects: int
    errors: dict[str, int]
    server: Sampled
    clients_cpu_pct: float = 0.0
    connect_s: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)  # by the server, by reason


def fields(output: dict[str, Any]) -> tuple[list[int], list[int], list[bool]]:
    return output["received"], output["bytes"], output["timed"]


async def measure_clients(
    server: Server, n: int, args: argparse.Namespace, bundle: bool
) -> ClientFigures:
    drops_before = server.drops()
    processes = 1 if n <= 100 else args.processes
    groups = [n // processes + (1 if k < n % processes else 0) for k in range(processes)]
    procs = []
    for size in groups:
        cmd = [
            sys.executable, str(Path(__file__).with_name("fanout.py")), "--client-worker",
            "--port", str(server.port),
            "--n", str(size), "--window", str(args.window),
            "--connect-rate", str(args.connect_rate / len(groups)),
            "--sample-every", str(max(1, n // 100)),
        ]  # fmt: skip
        if bundle:
            cmd.append("--bundle")
        procs.append(
            await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        )
    # every client connected (as the server counts them), then the warm-up, then the window
    began = time.monotonic()
    while time.monotonic() - began < args.connect_timeout:
        with contextlib.suppress(OSError):
            if (await asyncio.to_thread(scrape, server.port)).get("tickhub_ws_clients", 0) >= n:
                break
        await asyncio.sleep(1.0)
    connect_s = time.monotonic() - began
    await asyncio.sleep(args.warmup)
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        await p.stdin.drain()
    profiler = profile(server, args, f"{n}-clients")
    sampled = await sample_server(server, args.window)
    if profiler is not None:
        profiler.wait()
    outputs = [json.loads((await p.communicate())[0]) for p in procs]
    dropped = {k: v - drops_before.get(k, 0) for k, v in server.drops().items()}
    # every client gets the same messages: a client that does not count its trades is
    # credited its bytes at the timed clients' trades per byte
    counted = [(r, b) for o in outputs for r, b, t in zip(*fields(o), strict=True) if t]
    per_byte = sum(r for r, _ in counted) / max(1, sum(b for _, b in counted))
    received = [
        (r if t else b * per_byte) / args.window
        for o in outputs
        for r, b, t in zip(*fields(o), strict=True)
    ]
    delays = [d for o in outputs for d in o["delays"]]
    errors: dict[str, int] = {}
    for o in outputs:
        for k, v in o["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return ClientFigures(
        bundle=bundle,
        clients=n,
        connected=sum(o["connected"] for o in outputs),
        p50_ms=1000 * pct(delays, 50),
        p99_ms=1000 * pct(delays, 99),
        rate_min=min(received) if received else 0.0,
        rate_median=statistics.median(received) if received else 0.0,
        disconnects=sum(o["disconnects"] for o in outputs),
        errors=errors,
        server=sampled,
        clients_cpu_pct=sum(o["cpu_pct"] for o in outputs),
        connect_s=connect_s,
        dropped={k: v for k, v in dropped.items() if v},
    )
