"""Refuse inputs the engine cannot clear, naming the field at fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tickhub.common.errors import Invalid
from tickhub.market.engine._types import GAIN_FUNCS, Bid, ClearingParams, Measurements, PriceGrid

INTERVALS = (5, 15, 30, 60)


def check_inputs(
    bids: Sequence[Bid], data: Mapping[int, Measurements], grid: PriceGrid, params: ClearingParams
) -> None:
    _check_params(params)
    if grid.market_price < 0:
        raise Invalid("market_price must not be negative.", field="market_price")
    seen: set[int] = set()
    for bid in bids:
        if bid.bid_id in seen:
            raise Invalid(f"Bid {bid.bid_id} appears twice.", field="bid_id")
        seen.add(bid.bid_id)
        if bid.gain_func not in GAIN_FUNCS:
            raise Invalid(f"gain_func must be one of {', '.join(GAIN_FUNCS)}.", field="gain_func")
        if not bid.bid_price.is_finite() or bid.bid_price < 0:
            raise Invalid("bid_price must be a non-negative number.", field="bid_price")
        if not bid.max_payment.is_finite() or bid.max_payment < 0:
            raise Invalid("max_payment must be a non-negative number.", field="max_payment")
    for key, series in data.items():
        _check_series(key, series)


def _check_params(params: ClearingParams) -> None:
    checks = [
        (params.horizon_h >= 1, "horizon_h", "at least 1"),
        (0 <= params.fee < 1, "fee", "in [0, 1)"),
        (params.quantum.is_finite() and params.quantum > 0, "quantum", "positive"),
        (params.shapley_permutations >= 1, "shapley_permutations", "at least 1"),
        (params.train_days >= 2, "train_days", "at least 2"),
        (1 <= params.holdout_days < params.train_days, "holdout_days", "in [1, train_days)"),
        (0 <= params.max_sellers <= 62, "max_sellers", "in [0, 62]"),
        (params.own_lags >= 1, "own_lags", "at least 1"),
        (params.seller_lags >= 1, "seller_lags", "at least 1"),
        (params.ridge_alpha > 0, "ridge_alpha", "positive"),
        (params.noise_scale >= 0, "noise_scale", "non-negative"),
        (params.price_points >= 2, "price_points", "at least 2"),
    ]
    for ok, field, rule in checks:
        if not ok:
            raise Invalid(f"{field} must be {rule}.", field=field)


def _check_series(key: int, series: Measurements) -> None:
    where = f"data[{key}]"
    if series.resource_id != key:
        raise Invalid(f"{where} holds resource {series.resource_id}.", field=f"{where}.resource_id")
    if series.interval_min not in INTERVALS:
        raise Invalid(f"interval_min must be one of {INTERVALS}.", field=f"{where}.interval_min")
    times = np.asarray(series.times)
    values = np.asarray(series.values)
    if times.ndim != 1 or values.shape != times.shape:
        raise Invalid("times and values must be 1-D and of one length.", field=f"{where}.values")
    if times.size > 1 and not bool(np.all(np.diff(times) > 0)):
        raise Invalid("times must be ascending and unique.", field=f"{where}.times")
