"""Long-running tasks that never die silently.

A `Supervisor` runs each task it is given for as long as the process runs. A task that
raises (or returns, when it is meant to run for ever) is started again after a backoff
that doubles up to `max_backoff_s`; a run that lasted `healthy_s` resets the backoff.
After `give_up_after` failures in a row (each without a healthy run) the supervisor
gives up on the task: `failed()` returns its name and error, and the process is
expected to exit non-zero so that its orchestrator restarts it. Never a live process
that does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("tickhub.supervise")

Sleep = Callable[[float], Awaitable[None]]


class TaskFailed(Exception):
    """A supervised task failed too often; `name` says which."""

    def __init__(self, name: str, error: BaseException | None) -> None:
        detail = f"{type(error).__name__}: {error}" if error is not None else "returned"
        super().__init__(f"task {name!r} kept failing ({detail}); giving up")
        self.name = name
        self.error = error


@dataclass
class _Watched:
    name: str
    task: asyncio.Task[None]


class Supervisor:
    def __init__(
        self,
        *,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        healthy_s: float = 60.0,
        give_up_after: int = 10,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._backoff = backoff_s
        self._max_backoff = max(max_backoff_s, backoff_s)
        self._healthy = healthy_s
        self._give_up_after = give_up_after
        self._sleep = sleep
        self._watched: list[_Watched] = []
        self._failure: asyncio.Future[TaskFailed] | None = None
        self.restarts: dict[str, int] = {}

    def _failure_future(self) -> asyncio.Future[TaskFailed]:
        if self._failure is None:
            self._failure = asyncio.get_running_loop().create_future()
        return self._failure

    def spawn(
        self, name: str, run: Callable[[], Awaitable[object]], *, forever: bool = True
    ) -> asyncio.Task[None]:
        """Run `run()` under supervision. With `forever`, returning counts as a failure;
        without, it ends the supervision of this task."""
        self._failure_future()
        task = asyncio.create_task(self._keep(name, run, forever), name=f"supervised:{name}")
        self._watched.append(_Watched(name, task))
        return task

    async def _keep(self, name: str, run: Callable[[], Awaitable[object]], forever: bool) -> None:
        loop = asyncio.get_running_loop()
        backoff, failures = self._backoff, 0
        while True:
            started = loop.time()
            error: BaseException | None = None
            try:
                await run()
                if not forever:
                    return
                log.error("task %s returned; it should run until stopped", name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
                log.exception("task %s failed", name)
            if loop.time() - started >= self._healthy:
                backoff, failures = self._backoff, 0
            failures += 1
            if failures >= self._give_up_after:
                failed = TaskFailed(name, error)
                log.critical("%s", failed)
                future = self._failure_future()
                if not future.done():
                    future.set_result(failed)
                return
            log.warning("restarting task %s in %.1f s", name, backoff)
            await self._sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)
            self.restarts[name] = self.restarts.get(name, 0) + 1

    async def failed(self) -> TaskFailed:
        """Wait until a task is given up on; its `TaskFailed`."""
        return await asyncio.shield(self._failure_future())

    async def close(self) -> None:
        """Cancel every task and wait for them."""
        watched, self._watched = self._watched, []
        for w in watched:
            w.task.cancel()
        for w in watched:
            with contextlib.suppress(asyncio.CancelledError):
                await w.task


async def until_stopped_or_failed(stop: Awaitable[object], supervisor: Supervisor) -> None:
    """Return when `stop` completes; raise `TaskFailed` if a supervised task is given up
    on first."""
    stopping = asyncio.ensure_future(stop)
    failing = asyncio.ensure_future(supervisor.failed())
    try:
        done, _ = await asyncio.wait({stopping, failing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for f in (stopping, failing):
            if not f.done():
                f.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await f
    if stopping not in done:
        raise failing.result()
