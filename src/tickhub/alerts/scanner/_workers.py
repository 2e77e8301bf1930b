"""Group evaluation in worker processes (`TICKHUB_SCANNER_WORKERS` > 0).

Processes are spawned rather than forked: the scanner's process has threads (database
drivers), and forking those is unsafe. Each worker parses a condition once and keeps it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from tickhub.alerts.scanner._engine import GroupRequest, Hit, find_alerts


def _ready() -> int:
    return 0


class EvaluationPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )

    async def start(self) -> None:
        """Start every worker now, so the first scan does not pay for the imports."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers))
        )

    async def find_alerts(self, request: GroupRequest) -> list[Hit]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, find_alerts, request)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
