"""The in-memory bus of `tickhub up`: a batch the writer keeps failing on is retried
with backoff, then written to the dead-letter file under the data directory (not only
kept in memory), and `tickhub deadletter replay` writes it to the database later."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.bootstrap import dead_letter_file, replay_dead_letters
from tickhub.bus.memory import MemoryBus
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.settings import Settings

BATCH = TradeBatch(
    "binance",
    "BTCUSDT",
    tuple(Trade(i, 1_700_000_000_000_000 + i, 100.0 + i, 0.5) for i in range(1, 4)),
    "BTC",
    "USDT",
)


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


async def stored_trades(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM trades"))).scalar_one())


async def test_a_failing_batch_is_retried_then_kept_on_disk_and_replayed(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    # a database without the schema: every write fails, and not for want of a connection
    broken = create_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")
    letters = dead_letter_file(settings)
    sleeps = Sleeps()
    bus = MemoryBus(max_retries=2, retry_backoff_s=0.5, dead_letter_file=letters, sleep=sleeps)
    await bus.subscribe("trades.#", Writer(broken).handle, group="writer")
    await bus.publish(BATCH.topic, BATCH)
    await bus.close()
    await broken.dispose()

    assert sleeps.asked == [0.5, 1.0]
    assert bus.stats.dead_lettered == 1
    assert letters.path.is_relative_to(settings.data_dir)
    (entry,) = letters.entries()
    assert (entry.topic, entry.group) == (BATCH.topic, "writer")
    assert "no such table" in entry.error
    assert letters.decode(entry) == BATCH
    assert await stored_trades(engine) == 0

    assert await replay_dead_letters(settings) == (1, 0)
    assert await stored_trades(engine) == 3
    assert not letters.path.exists()
    assert await replay_dead_letters(settings) == (0, 0)


async def test_a_letter_that_fails_again_stays_in_the_file(
    settings: Settings, tmp_path: Path
) -> None:
    letters = dead_letter_file(settings)
    await letters.write(topic=BATCH.topic, group="writer", message=BATCH, error="first")
    await letters.write(topic="x.y", group="other", message=BATCH, error="not the writer's")

    async def still_failing(_topic: str, _message: object) -> None:
        raise RuntimeError("still broken")

    assert await letters.replay("writer", still_failing) == (0, 2)
    entries = letters.entries()
    assert [e.group for e in entries] == ["writer", "other"]
    assert "still broken" in entries[0].error
    assert letters.decode(entries[0]) == BATCH


def test_the_command_replays_and_says_what_it_did(tmp_path: Path) -> None:
    import asyncio

    from typer.testing import CliRunner

    from tickhub.cli import app

    settings = Settings(_env_file=None, data_dir=tmp_path, sources=[])
    letters = dead_letter_file(settings)
    asyncio.run(letters.write(topic=BATCH.topic, group="writer", message=BATCH, error="x"))
    env = {"TICKHUB_DATA_DIR": str(tmp_path), "TICKHUB_DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["deadletter", "replay"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 dead letters written, 0 kept" in result.output
    assert not letters.path.exists()
