"""What the multi-process benches share: a throwaway RabbitMQ vhost and PostgreSQL
database, child processes (`tickhub writer`, `tickhub api`) with their logs, and the CPU
time each component used (Linux /proc)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx

from procstat import CLK_TCK, cpu_seconds
from tickhub.db import create_engine
from tickhub.migrate import upgrade

# --- a throwaway vhost and database -----------------------------------------------------------


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + path, "", ""))


async def rabbitmqctl(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {(err or out).decode().strip()}")
    return out.decode()


@contextlib.asynccontextmanager
async def scratch(amqp_url: str, pg_admin_url: str, tag: str) -> AsyncIterator[tuple[str, str]]:
    """A vhost and a migrated database of their own; both deleted at the end."""
    vhost = db = f"tickhub_bench_{tag}"
    user = urlsplit(amqp_url).username or "guest"
    await rabbitmqctl("add_vhost", vhost)
    try:
        await rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        admin = await asyncpg.connect(pg_admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{db}"')
        finally:
            await admin.close()
        db_url = with_path(pg_admin_url, db)
        try:
            engine = create_engine(db_url)
            await upgrade(engine)
            await engine.dispose()
            yield with_path(amqp_url, quote(vhost, safe="")), db_url
        finally:
            admin = await asyncpg.connect(pg_admin_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            finally:
                await admin.close()
    finally:
        await rabbitmqctl("delete_vhost", vhost)


# --- child processes ----------------------------------------------------------------------------


def child_env(bus_url: str, db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKHUB_")}
    env |= {
        "TICKHUB_BUS_URL": bus_url,
        "TICKHUB_DATABASE_URL": db_url,
        "TICKHUB_DATA_DIR": str(tmp),
        "TICKHUB_LOG_LEVEL": "WARNING",
        **extra,
    }
    return env


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    log: Path

    def check(self) -> None:
        if self.proc.returncode is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{tail}")

    async def stop(self) -> None:
        if self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def spawn(name: str, args: list[str], env: dict[str, str], tmp: Path) -> Child:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, env=env, cwd=tmp, stdout=out, stderr=out
        )
    return Child(name, proc, log)


async def consumers(bus_url: str, queue: str) -> int:
    connection = await aio_pika.connect(bus_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.consumer_count or 0)
    finally:
        await connection.close()


async def until(check: Callable[[], Awaitable[bool]], *, within: float, every: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {within:g} s")
        await asyncio.sleep(every)


# --- CPU accounting (Linux /proc) ---------------------------------------------------------------


def cpu_of(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:  # the process has ended
        return 0.0


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
    return found


def postgres_pids(database: str) -> list[int]:
    """The server's own processes and the sessions on `database`, not other databases'."""
    found = []
    for pid in pids_named("postgres"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        # "postgres: 15/main: user db 127.0.0.1(54108) idle", "... autovacuum worker db"
        session = "(" in title or "[local]" in title or "autovacuum worker" in title
        if not session or f" {database} " in f"{title} ":
            found.append(pid)
    return found


def machine_busy() -> float:
    with Path("/proc/stat").open() as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK  # all but idle and iowait


@dataclass
class CpuMeter:
    """CPU seconds per component between `start` and `stop`."""

    groups: dict[str, Callable[[], list[int]]]
    _before: dict[str, dict[int, float]] = field(default_factory=dict)
    _busy: float = 0.0
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self._before = {g: {p: cpu_of(p) for p in pids()} for g, pids in self.groups.items()}
        self._busy = machine_busy()

    def stop(self) -> None:
        for group, pids in self.groups.items():
            before = self._before[group]
            self.used[group] = sum(max(0.0, cpu_of(p) - before.get(p, 0.0)) for p in pids())
        self.used["other"] = max(0.0, machine_busy() - self._busy - sum(self.used.values()))


async def wait_http(base_url: str, child: Child) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:

        async def up() -> bool:
            child.check()
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await until(up, within=60, every=0.1)


def cpu_line(cpu: dict[str, float], wall: float) -> str:
    parts = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
    cores = os.cpu_count() or 1
    return f"  CPU s over {wall:.1f} s: {parts}; busy {sum(cpu.values()):.1f} of {cores * wall:.1f}"
