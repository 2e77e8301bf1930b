"""LoopLag on a loop whose clock the test moves: each timer's lateness is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tickhub.common.looplag import BUCKETS, LagFigures, LoopLag, Slices


@dataclass
class _Timer:
    when: float
    callback: Callable[..., None]
    args: tuple[Any, ...]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class _Loop:
    """What LoopLag asks of a loop: its time and `call_at`; the test runs what is due."""

    def __init__(self) -> None:
        self.now = 100.0
        self.due: list[_Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> _Timer:
        timer = _Timer(when, callback, args)
        self.due.append(timer)
        return timer

    def run_next(self, late_by: float) -> None:
        """Run the next timer `late_by` seconds after it was due (a step held the loop)."""
        timer = self.due.pop(0)
        assert not timer.cancelled
        self.now = timer.when + late_by
        timer.callback(*timer.args)


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch) -> _Loop:
    fake = _Loop()
    monkeypatch.setattr(asyncio, "get_running_loop", lambda: fake)
    return fake


def test_records_how_late_each_timer_ran(loop: _Loop) -> None:
    probe = LoopLag(interval_s=0.02)
    probe.start()
    assert probe.running
    for late in (0.0, 0.001, 0.14, 0.004):
        loop.run_next(late)
    f = probe.figures
    assert f.samples == 4
    assert f.max_s == pytest.approx(0.14)
    assert f.total_s == pytest.approx(0.145)
    assert f.counts[BUCKETS.index(0.002)] == 2  # 0 and 1 ms
    assert f.counts[BUCKETS.index(0.005)] == 1
    assert f.counts[BUCKETS.index(0.15)] == 1
    # each timer is due an interval after the last one ran, not after it was due
    assert loop.due[0].when == pytest.approx(loop.now + 0.02)


def test_stop_cancels_the_timer(loop: _Loop) -> None:
    probe = LoopLag()
    probe.start()
    probe.start()  # once
    assert len(loop.due) == 1
    probe.stop()
    assert not probe.running
    assert loop.due[0].cancelled


def test_a_bound_holds_itself_and_a_lag_beyond_the_last_is_counted_apart() -> None:
    f = LagFigures()
    f.add(0.05)
    f.add(BUCKETS[-1] + 1)
    assert f.counts[BUCKETS.index(0.05)] == 1
    assert f.counts[-1] == 1
    assert f.samples == 2


async def test_slices_yield_to_the_loop_only_once_a_slice_has_run() -> None:
    ran: list[bool] = []

    async def other() -> None:
        ran.append(True)

    task = asyncio.create_task(other())
    await Slices(slice_s=3600.0).step()
    assert not ran  # a short piece of work keeps the loop
    await Slices(slice_s=0.0).step()
    assert ran
    await task
