"""Putting series on a buyer's grid."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.market.engine.synthetic import LAUNCH, params
from tickhub.market.engine import Measurements
from tickhub.market.engine._align import make_grid, resample, standardise


def series(interval_min: int, times: list[int], values: list[float]) -> Measurements:
    return Measurements(1, 1, interval_min, np.array(times, dtype=np.int64), np.array(values))


def test_the_grid_covers_training_lags_and_the_horizon() -> None:
    grid = make_grid(15, params(horizon_h=24, train_days=10, holdout_days=2))
    assert grid.step == 900 and grid.horizon == 96
    assert grid.own_lags == (96, 97, 98, 672)  # h, h+1, h+2, a week (a day is h)
    assert grid.seller_lags == (96, 97)
    assert grid.times()[grid.launch] == LAUNCH
    assert grid.forecast == 96 and grid.n == grid.launch + 97
    assert grid.launch - grid.first_target + 1 == 10 * 96
    assert grid.launch - grid.split + 1 == 2 * 96
    assert grid.first_target == 672


def test_a_finer_series_is_averaged_over_each_step_ending_at_it() -> None:
    grid = make_grid(15, params(horizon_h=1))
    t = LAUNCH - 900
    out = resample(series(5, [t - 600, t - 300, t, t + 300], [1.0, 2.0, 6.0, 9.0]), grid)
    times = grid.times()
    assert out[times == t][0] == 3.0  # (t - 15 min, t]
    assert out[times == LAUNCH][0] == 9.0
    assert np.isnan(out[times == t - 900][0])


def test_a_coarser_series_is_carried_over_its_own_interval_only() -> None:
    grid = make_grid(15, params(horizon_h=1))
    t = LAUNCH - 4 * 3600
    out = resample(series(60, [t, t + 3600 * 2], [5.0, 7.0]), grid)
    times = grid.times()
    got = [out[times == t + 900 * k][0] for k in range(9)]
    assert got[:4] == [5.0] * 4
    assert np.isnan(got[4:8]).all()
    assert got[8] == 7.0


def test_nothing_after_the_launch_is_used() -> None:
    grid = make_grid(60, params(horizon_h=3))
    out = resample(series(60, [LAUNCH, LAUNCH + 3600], [1.0, 2.0]), grid)
    assert out[grid.launch] == 1.0
    assert np.isnan(out[grid.launch + 1 :]).all()


def test_standardising_needs_a_varying_series() -> None:
    grid = make_grid(60, params(horizon_h=1))
    flat = np.full(grid.n, 4.0)
    assert standardise(flat, grid) is None
    varying = np.where(np.arange(grid.n) % 2 == 0, 1.0, 3.0)
    varying[5] = np.nan
    z = standardise(varying, grid)
    assert z is not None and z[5] == 0.0
    assert np.abs(z[:5]) == pytest.approx(np.ones(5), abs=0.01)
