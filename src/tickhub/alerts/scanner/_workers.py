"""Group evaluation in worker processes (`TICKHUB_SCANNER_WORKERS` > 0).

Processes are spawned rather than forked: the scanner's process has threads (database
drivers), and forking those is unsafe. Each worker parses a condition once and keeps it.

A worker that dies (killed, out of memory) breaks a `ProcessPoolExecutor` for good: the
pool is then replaced by a new one (`rebuilds` counts it) and the evaluation that failed
with it is submitted once more.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from tickhub.alerts.scanner._engine import GroupRequest, Hit, find_alerts

log = logging.getLogger(__name__)


def _ready() -> int:
    return 0


class EvaluationPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.rebuilds = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    async def start(self) -> None:
        """Start every worker now, so the first scan does not pay for the imports."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers))
        )

    async def find_alerts(self, request: GroupRequest) -> list[Hit]:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, find_alerts, request)
        except BrokenProcessPool:
            self._replace(pool)
        return await loop.run_in_executor(self._pool, find_alerts, request)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool instead of `broken`, unless a concurrent call replaced it already."""
        if self._pool is not broken:
            return
        log.error("a scanner worker process died; starting a new pool of %d", self.workers)
        self.rebuilds += 1
        self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
