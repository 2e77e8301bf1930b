"""The scanner's worker processes: one that dies is replaced, and the evaluation that
was in flight is done by the new pool."""

from __future__ import annotations

import numpy as np

from tickhub.alerts.scanner._engine import GroupRequest
from tickhub.alerts.scanner._workers import EvaluationPool


async def test_the_pool_is_rebuilt_when_a_worker_dies() -> None:
    pool = EvaluationPool(1)
    await pool.start()
    try:
        (worker,) = pool._pool._processes.values()
        worker.kill()
        worker.join()
        request = GroupRequest({}, np.array([], dtype=np.int64), ())
        assert await pool.find_alerts(request) == []
        assert pool.rebuilds == 1
        assert await pool.find_alerts(request) == []  # and it keeps working
    finally:
        pool.close()
