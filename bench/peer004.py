"""Seed 004's original, run from a local checkout so that bench/http_reads.py measures it
beside tickhub: Isshwarya/crypto-ticker at 79858ee (Django 4.2 + Django REST framework,
gunicorn with 3 sync workers, PostgreSQL), as its Dockerfile and startup.sh run it.

    git clone https://github.com/Isshwarya/crypto-ticker /work/peer/crypto-ticker
    git -C /work/peer/crypto-ticker checkout 79858ee
    .venv/bin/python bench/http_reads.py --peer-src /work/peer/crypto-ticker
    .venv/bin/python bench/peer004.py --peer-src DIR [--trades N]   # start it alone, Ctrl-C stops

`--peer-src DIR` may also be given as the environment variable TICKHUB_BENCH_PEER004.
Nothing in the checkout is edited; what it takes, in order:
- DIR/.venv (made once): its webserver/requirements.txt with psycopg2 replaced by
  psycopg2-binary of the same version (no compiler needed), on Python 3.11;
- its own database `peer004_bench` (127.0.0.1:5432, user postgres, trust auth; dropped
  and made anew each run), with its schema from db/init-scripts/init.sql (the trade table
  `crypto_price(id, symbol, price, datetime)` partitioned by week, `latest_crypto_price`,
  `settings`) plus one DEFAULT partition: init.sql leaves the last second of each week
  and everything after 2024-05-04 in no partition, so a large `--trades` would not load;
- `manage.py migrate` (Django's own tables; its app's models are unmanaged);
- the same trades as tickhub (http_reads' generator) loaded with COPY, their time as naive
  UTC (its data receiver writes naive local time; UTC makes the benchmark's windows pick
  the same rows in both), `latest_crypto_price` set to each symbol's last trade and the
  `data_collection_start_date` setting to the first;
- gunicorn with 3 sync workers on a free port, with a settings module written in a
  temporary folder outside the checkout: its settings with DEBUG off and ALLOWED_HOSTS
  127.0.0.1 (the database is given through its own POSTGRES_*/DB_HOST variables).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import asyncpg

ENV_VAR = "TICKHUB_BENCH_PEER004"
DATABASE = "peer004_bench"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
WORKERS = 3
READY = "/api/current_price/?symbol=BTCUSDT"  # answers once the trades are in
COMMIT = "79858ee"

SETTINGS = """\
from cryptoticker.settings import *  # noqa: F403 - the checkout's own settings, then:

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
"""


class TradeLike(Protocol):
    @property
    def ts(self) -> int: ...  # microseconds since the Unix epoch, UTC
    @property
    def price(self) -> float: ...


Generate = Callable[[str, int], Iterable[TradeLike]]


class RunLike(Protocol):
    @property
    def rps(self) -> float: ...
    @property
    def p50(self) -> float: ...
    @property
    def p99(self) -> float: ...


def locate(arg: str | None) -> tuple[Path | None, str]:
    """The checkout named by --peer-src or the environment, or None and why it is skipped."""
    given = arg or os.environ.get(ENV_VAR)
    if not given:
        return None, f"no --peer-src DIR nor {ENV_VAR} (see the README's Reads over HTTP)"
    src = Path(given).expanduser().resolve()
    if not (src / "webserver" / "cryptoticker" / "manage.py").is_file():
        return None, f"{src} is not a checkout of Isshwarya/crypto-ticker ({COMMIT})"
    return src, ""


def requirements(text: str) -> list[str]:
    """Its requirements.txt, installable without a compiler: psycopg2 as psycopg2-binary."""
    found = []
    for line in text.splitlines():
        req = line.split("#", 1)[0].strip()
        if not req:
            continue
        name, sep, version = req.partition("==")
        if name.strip().lower() == "psycopg2":
            req = f"psycopg2-binary{sep}{version}"
        found.append(req)
    return found


def ensure_venv(src: Path) -> Path:
    """DIR/.venv with its requirements; made once. Returns its bin folder."""
    venv = src / ".venv"
    bin_ = venv / "bin"
    if (bin_ / "gunicorn").exists():
        return bin_
    python = "python3.11"  # its pins (numpy 1.24, Django 4.2) predate Python 3.12
    print(f"  making {venv} ({python}, its requirements)", flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    reqs = requirements((src / "webserver" / "requirements.txt").read_text())
    subprocess.run([str(bin_ / "python"), "-m", "pip", "install", "-q", *reqs], check=True)
    return bin_


EPOCH = datetime(1970, 1, 1)  # naive: its column is a TIMESTAMP without time zone


def naive_utc(ts_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=ts_us)


def rows(
    generate: Generate, symbols: Iterable[str], trades_per_symbol: int
) -> Iterator[tuple[str, float, datetime]]:
    """`crypto_price` rows (symbol, price, datetime) of the trades tickhub loads."""
    for symbol in symbols:
        for t in generate(symbol, trades_per_symbol):
            yield symbol, t.price, naive_utc(t.ts)


def latest(
    found: Iterable[tuple[str, float, datetime]],
) -> tuple[dict[str, tuple[float, datetime]], datetime | None]:
    """Each symbol's last (price, datetime) and the first datetime of all, in one pass."""
    last: dict[str, tuple[float, datetime]] = {}
    first: datetime | None = None
    for symbol, price, at in found:
        if first is None or at < first:
            first = at
        if symbol not in last or at >= last[symbol][1]:
            last[symbol] = (price, at)
    return last, first


def env(src: Path, settings_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{settings_dir}{os.pathsep}{src / 'webserver' / 'cryptoticker'}",
        "DJANGO_SETTINGS_MODULE": "peer004_settings",
        "PYTHONDONTWRITEBYTECODE": "1",  # leaves the checkout as it was
        "POSTGRES_NAME": DATABASE,
        "POSTGRES_USER": PG_USER,
        "POSTGRES_PASSWORD": "unused",  # trust auth
        "DB_HOST": PG_HOST,
    }


async def create_and_load(
    src: Path, generate: Generate, symbols: Iterable[str], trades_per_symbol: int
) -> None:
    """A new `peer004_bench` database with its schema, loaded by COPY."""
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=DATABASE)
    try:
        await conn.execute((src / "db" / "init-scripts" / "init.sql").read_text())
        await conn.execute("CREATE TABLE crypto_price_default PARTITION OF crypto_price DEFAULT")
        symbols = tuple(symbols)
        await conn.copy_records_to_table(
            "crypto_price",
            records=rows(generate, symbols, trades_per_symbol),
            columns=["symbol", "price", "datetime"],
        )
        last, first = latest(rows(generate, symbols, trades_per_symbol))
        await conn.executemany(
            "INSERT INTO latest_crypto_price (symbol, price, datetime) VALUES ($1, $2, $3)",
            [(symbol, price, at) for symbol, (price, at) in last.items()],
        )
        if first is not None:
            await conn.execute(
                "INSERT INTO settings (name, value) VALUES ('data_collection_start_date', $1)",
                f"{first:%Y-%m-%d %H:%M:%S}",
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def drop_database() -> None:
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await admin.close()


@contextmanager
def prepared(
    src: Path, port: int, generate: Generate, symbols: Iterable[str], trades_per_symbol: int
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Its venv, database and settings ready; yields gunicorn's command and environment.
    The database is dropped afterwards."""
    bin_ = ensure_venv(src)
    with tempfile.TemporaryDirectory(prefix="peer004-") as tmp:
        (Path(tmp) / "peer004_settings.py").write_text(SETTINGS)
        environ = env(src, Path(tmp))
        t0 = time.perf_counter()
        asyncio.run(create_and_load(src, generate, symbols, trades_per_symbol))
        subprocess.run(
            [str(bin_ / "python"), "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=src / "webserver" / "cryptoticker", env=environ, check=True,
        )  # fmt: skip
        print(f"  loaded with COPY and migrated in {time.perf_counter() - t0:.0f} s", flush=True)
        cmd = [str(bin_ / "gunicorn"), "cryptoticker.wsgi:application",
               "--chdir", str(src / "webserver" / "cryptoticker"),
               "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)]  # fmt: skip
        try:
            yield cmd, environ
        finally:
            asyncio.run(drop_database())


def print_ratios(peer: Mapping[str, RunLike], tickhub: Mapping[str, Mapping[str, RunLike]]) -> None:
    """tickhub beside the peer, route by route: rps, p50, and the ratio of rps."""
    if not peer:
        return
    names = list(tickhub)
    head = "".join(f" {name + ' rps':>15} {'p50 ms':>8} {'× peer':>7}" for name in names)
    print(f"\ntickhub / seed 004 original (same run)\n{'route':32} {'peer rps':>9} "
          f"{'p50 ms':>8}{head}")  # fmt: skip
    for label, p in peer.items():
        line = f"{label:32} {p.rps:9,.1f} {p.p50:8.1f}"
        for name in names:
            t = tickhub[name].get(label)
            if t is None:
                line += f" {'—':>15} {'':8} {'':7}"
            else:
                ratio = f"{t.rps / p.rps:7.1f}" if p.rps else f"{'—':>7}"
                line += f" {t.rps:15,.1f} {t.p50:8.1f} {ratio}"
        print(line)


def main() -> None:
    from http_reads import SYMBOLS, free_port, generate, server

    parser = argparse.ArgumentParser(description="start seed 004's original, loaded; Ctrl-C stops")
    parser.add_argument("--peer-src", help=f"its checkout (or {ENV_VAR})")
    parser.add_argument("--trades", type=int, default=300_000, help="trades in all")
    args = parser.parse_args()
    src, why = locate(args.peer_src)
    if src is None:
        raise SystemExit(why)
    port = free_port()
    with (
        prepared(src, port, generate, SYMBOLS, args.trades // len(SYMBOLS)) as (cmd, environ),
        server(cmd, environ, f"http://127.0.0.1:{port}{READY}"),
    ):
        print(f"seed 004 original at http://127.0.0.1:{port} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
