"""bench/peer004.py's pure helpers: the rows it COPYs into seed 004's original are the
trades bench/http_reads.py loads into tickhub. The peer itself needs its checkout and is
not run here."""

from __future__ import annotations

import importlib
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text

from tickhub.db import create_engine

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> tuple[ModuleType, ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:  # bench/ is a folder of scripts, not a package
        return importlib.import_module("http_reads"), importlib.import_module("peer004")
    finally:
        sys.path.remove(str(BENCH))


async def test_copied_rows_are_the_trades_tickhub_stores(bench, tmp_path: Path) -> None:
    http_reads, peer004 = bench
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    await http_reads.load(url, 7)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    text(
                        "SELECT i.symbol, t.price, t.ts FROM trades t "
                        "JOIN instruments i ON i.id = t.instrument_id ORDER BY i.symbol, t.ts"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    rows = sorted(
        peer004.rows(http_reads.generate, http_reads.SYMBOLS, 7), key=lambda r: (r[0], r[2])
    )
    assert len(rows) == len(stored) == 21
    for (symbol, price, at), (t_symbol, t_price, t_ts) in zip(rows, stored, strict=True):
        assert (symbol, price) == (t_symbol, t_price)
        assert at == datetime(1970, 1, 1) + timedelta(microseconds=t_ts)  # naive UTC


def test_rows_start_at_the_issue_date_one_a_second(bench) -> None:
    http_reads, peer004 = bench
    rows = list(peer004.rows(http_reads.generate, ["BTCUSDT"], 3))
    assert [r[2] for r in rows] == [datetime(2024, 3, 31, 0, 0, s) for s in range(3)]
    assert all(r[2].tzinfo is None for r in rows)  # its column is a naive TIMESTAMP


def test_latest_is_each_symbols_last_trade_and_the_first_time(bench) -> None:
    _, peer004 = bench
    t0 = datetime(2024, 3, 31)
    found = [
        ("BTCUSDT", 1.0, t0),
        ("BTCUSDT", 2.0, t0 + timedelta(seconds=1)),
        ("ETHUSDT", 5.0, t0 + timedelta(seconds=3)),
        ("ETHUSDT", 4.0, t0 + timedelta(seconds=2)),
    ]
    last, first = peer004.latest(found)
    assert last == {
        "BTCUSDT": (2.0, t0 + timedelta(seconds=1)),
        "ETHUSDT": (5.0, t0 + timedelta(seconds=3)),
    }
    assert first == t0
    assert peer004.latest([]) == ({}, None)


def test_requirements_install_psycopg2_as_the_binary_wheel(bench) -> None:
    _, peer004 = bench
    text_ = "django==4.2.11\n\n# a comment\npsycopg2==2.9.9  # driver\nnumpy==1.24.4\n"
    assert peer004.requirements(text_) == [
        "django==4.2.11",
        "psycopg2-binary==2.9.9",
        "numpy==1.24.4",
    ]


def test_locate_says_why_the_peer_is_skipped(bench, tmp_path, monkeypatch) -> None:
    _, peer004 = bench
    monkeypatch.delenv(peer004.ENV_VAR, raising=False)
    src, why = peer004.locate(None)
    assert src is None
    assert peer004.ENV_VAR in why
    src, why = peer004.locate(str(tmp_path))
    assert src is None
    assert str(tmp_path) in why
    (tmp_path / "webserver" / "cryptoticker").mkdir(parents=True)
    (tmp_path / "webserver" / "cryptoticker" / "manage.py").write_text("")
    monkeypatch.setenv(peer004.ENV_VAR, str(tmp_path))
    assert peer004.locate(None) == (tmp_path.resolve(), "")
