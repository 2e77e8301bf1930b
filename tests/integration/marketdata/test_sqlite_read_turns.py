"""On SQLite the hot reads run on the driver one at a time in a process: each steps its
rows on its own connection's thread, taking the GIL back for every row, so two at once
only wait on each other (the day of seed 004's prices cost 744 ms of CPU with 16 at once
against 197 ms alone)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tickhub.db import create_engine
from tickhub.marketdata.store.repository import _driver

# One row per step of a three-row count, each passing through `mark(read, step)`.
STEPS = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) "
    "SELECT mark(?, x) FROM n"
)


async def test_a_second_read_waits_until_the_first_has_stepped_all_its_rows(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    first_in = threading.Event()  # the first read is stepping its rows
    second_in = threading.Event()  # the second read has started stepping its rows
    seen: list[bool] = []  # whether the second read began while the first was stepping

    def mark(read: str, step: int) -> int:  # runs on the reading connection's thread
        if read == "first" and step == 1:
            first_in.set()
            # Waits for what must not happen: the second read starting meanwhile.
            seen.append(second_in.wait(timeout=0.5))
        if read == "second":
            second_in.set()
        return step

    def install(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("mark", 2, mark)

    event.listen(engine.sync_engine, "connect", install)
    try:
        async with engine.connect() as one, engine.connect() as two:
            first = asyncio.create_task(_driver.fetch(one, STEPS, ("first",)))
            assert await asyncio.to_thread(first_in.wait, 10)
            second = asyncio.create_task(_driver.fetch(two, STEPS, ("second",)))
            rows = [list(await first), list(await second)]
    finally:
        await engine.dispose()
    assert seen == [False]
    assert [[tuple(r) for r in found] for found in rows] == [[(1,), (2,), (3,)]] * 2
