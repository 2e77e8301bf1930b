"""Supervised tasks: restarted with a doubling backoff, or given up on loudly."""

from __future__ import annotations

import asyncio

import pytest
import typer

from tickhub.common.supervise import Supervisor, TaskFailed, until_stopped_or_failed


class Sleeps:
    """Records the backoffs asked for and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


async def test_a_failing_task_is_restarted_with_a_doubling_backoff() -> None:
    sleeps = Sleeps()
    supervisor = Supervisor(backoff_s=1, max_backoff_s=3, sleep=sleeps)
    runs = 0
    steady = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 4:
            raise ConnectionError("database away")
        steady.set()
        await asyncio.Event().wait()

    task = supervisor.spawn("flaky", flaky)
    await asyncio.wait_for(steady.wait(), 10)
    assert sleeps.asked == [1, 2, 3, 3]
    assert supervisor.restarts == {"flaky": 4}
    assert not task.done()
    await supervisor.close()
    assert task.cancelled()


async def test_a_task_meant_to_run_for_ever_that_returns_is_restarted() -> None:
    supervisor = Supervisor(sleep=Sleeps())
    runs = 0
    second = asyncio.Event()

    async def quits() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            second.set()
            await asyncio.Event().wait()

    supervisor.spawn("quits", quits)
    await asyncio.wait_for(second.wait(), 10)
    assert supervisor.restarts == {"quits": 1}
    await supervisor.close()


async def test_a_task_that_may_end_is_not_restarted() -> None:
    supervisor = Supervisor(sleep=Sleeps())
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    await supervisor.spawn("once", once, forever=False)
    assert runs == 1
    assert supervisor.restarts == {}


async def test_a_task_failing_too_often_stops_the_process() -> None:
    supervisor = Supervisor(give_up_after=3, sleep=Sleeps())

    async def broken() -> None:
        raise RuntimeError("bad configuration")

    supervisor.spawn("broken", broken)
    with pytest.raises(TaskFailed) as caught:
        await until_stopped_or_failed(asyncio.Event().wait(), supervisor)
    assert caught.value.name == "broken"
    assert isinstance(caught.value.error, RuntimeError)
    assert supervisor.restarts == {"broken": 2}
    await supervisor.close()


async def test_a_stop_ends_the_wait_without_an_error() -> None:
    supervisor = Supervisor(sleep=Sleeps())
    supervisor.spawn("idle", lambda: asyncio.Event().wait())
    stop = asyncio.Event()
    stop.set()
    await until_stopped_or_failed(stop.wait(), supervisor)
    await supervisor.close()


def test_the_command_exits_non_zero_when_a_task_is_given_up() -> None:
    from tickhub import cli

    async def service() -> None:
        raise TaskFailed("scanner", RuntimeError("x"))

    with pytest.raises(typer.Exit) as caught:
        cli._run(service())
    assert caught.value.exit_code == 1
