"""`tickhub import` end to end through the CLI: Binance public-data CSV, idempotency,
overlap with stored trades, and a clear error on a bad row. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from tests.unit.marketdata.test_candles import close_enough, naive, shape
from tickhub.cli import app
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import ROLLUPS, Candle
from tickhub.marketdata.store.repository import MarketDataReads

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def binance_rows(first: int, last: int) -> list[str]:
    return [
        f"{i},{100 + (i % 17) * 0.25:.8f},{0.001 * (i % 7 + 1):.8f},0,{T0_MS + i * 997},"
        f"{'True' if i % 2 else 'False'},True"
        for i in range(first, last + 1)
    ]


@pytest.fixture
def cli_env(engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKHUB_DATABASE_URL", database_url)


def run_import(path: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        app, ["import", str(path), "--exchange", "binance", "--symbol", "BTCUSDT", *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def read_back(url: str) -> tuple[list[Trade], list[tuple[int, int]], dict[int, dict[int, Candle]]]:
    """Trades, coverage and rollups as stored (the CLI runs its own event loop, so this
    test reads the database with a fresh engine of its own)."""

    async def go() -> tuple[list[Trade], list[tuple[int, int]], dict[int, dict[int, Candle]]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                repo = MarketDataReads(conn)
                (inst,) = await repo.instruments("binance")
                trades = await repo.trades(inst.id, None, None)
                ranges = [(r.first_id, r.last_id) for r in await repo.coverage(inst.id)]
                rollups = {
                    res: {c.start: c for c in await repo.candles(inst.id, res, 0, 2**62)}
                    for res in ROLLUPS
                }
        finally:
            await engine.dispose()
        return trades, ranges, rollups

    return asyncio.run(go())


def test_import_is_idempotent_and_fills_only_holes(
    cli_env: None, database_url: str, tmp_path: Path
) -> None:
    part = tmp_path / "BTCUSDT-trades-part.csv"
    part.write_text("\n".join(binance_rows(1000, 1999)[::2]) + "\n")  # every other trade
    full = tmp_path / "BTCUSDT-trades-2026-01-01.zip"
    with zipfile.ZipFile(full, "w") as z:
        z.writestr("BTCUSDT-trades-2026-01-01.csv", "\n".join(binance_rows(1000, 2999)) + "\n")

    assert "500 new" in run_import(part)
    out = run_import(full)
    assert "2,000 trades read, 1,500 new, 500 already stored" in out
    before = read_back(database_url)
    assert "0 new" in run_import(full)  # a second import changes nothing
    assert read_back(database_url) == before
    after, ranges, rollups = before
    assert [t.trade_id for t in after] == list(range(1000, 3000))
    first = after[0]
    assert (first.ts, first.price, first.is_buyer_maker) == (
        (T0_MS + 1000 * 997) * 1000,
        100 + (1000 % 17) * 0.25,
        False,
    )

    assert ranges == [(1000, 2999)]
    for res in ROLLUPS:
        got = {start: shape(c) for start, c in rollups[res].items()}
        want = naive(after, res)
        assert got.keys() == want.keys()
        assert all(close_enough(got[k], want[k]) for k in got)


def test_a_bad_row_stops_the_import_with_its_line_and_column(cli_env: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    rows = binance_rows(1, 5)
    rows[3] = rows[3].replace(",0.", ",abc", 1)
    bad.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(
        app, ["import", str(bad), "--exchange", "binance", "--symbol", "BTCUSDT"]
    )
    assert result.exit_code == 1
    assert "line 4" in result.output
    assert "qty" in result.output or "price" in result.output


def analyses(url: str) -> dict[str, int]:
    """How many times each table a load fills has been analysed by an ANALYZE command
    (autovacuum's own rounds are counted apart and left out)."""

    async def go() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT relname, analyze_count FROM pg_stat_user_tables"
                        " WHERE relname IN ('candles', 'latest_prices')"
                    )
                )
                return {name: int(count) for name, count in rows}
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_import_into_postgresql_leaves_the_planner_statistics_current(
    cli_env: None, pg_url: str, tmp_path: Path
) -> None:
    # autovacuum never analyses the partitioned `trades` and reaches the rest only on its
    # next round: the import analyses what it filled before it returns.
    path = tmp_path / "BTCUSDT-trades.csv"
    path.write_text("\n".join(binance_rows(1, 3000)) + "\n")
    before = analyses(pg_url)
    assert "3,000 new" in run_import(path)
    after = analyses(pg_url)
    assert after.keys() == {"candles", "latest_prices"}
    assert all(after[name] > before.get(name, 0) for name in after), (before, after)
    assert "0 new" in run_import(path)  # nothing new: nothing to analyse
    assert analyses(pg_url) == after
