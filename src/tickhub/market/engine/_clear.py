"""Clear one session: for each bid, value the other users' data, forecast, price, split;
then move the price weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
from threadpoolctl import threadpool_limits

from tickhub.market.engine._align import AlignedSeries, Floats, make_grid
from tickhub.market.engine._fit import ValueModel
from tickhub.market.engine._model import MIN_TEST, MIN_TRAIN, Rows, build_design, select_sellers
from tickhub.market.engine._money import floor_to, split, to_decimal, unit_payment
from tickhub.market.engine._price import next_price
from tickhub.market.engine._shapley import shapley_sampled
from tickhub.market.engine._types import (
    Bid,
    BuyerResult,
    Clearing,
    ClearingParams,
    Forecast,
    Measurements,
    PriceGrid,
    Revenue,
)
from tickhub.market.engine._validate import check_inputs

_SEED_MASK = (1 << 63) - 1


def seed_of(params: ClearingParams, bid_id: int, use: int = 0) -> list[int]:
    """A random stream of one bid (use 0: the noise, 1: the permutations), from the
    session's seed and the bid, so that a bid's draws do not depend on the other bids."""
    return [params.seed & _SEED_MASK, bid_id & _SEED_MASK, use]


def noise_sigma(u: float, params: ClearingParams) -> float:
    """sigma(z) = kappa * max(0, 1 - z / market_price), u = z / market_price."""
    return params.noise_scale * max(0.0, 1.0 - u)


@dataclass
class BidOutcome:
    """One bid cleared, with its gain curve G over u = z / market_price."""

    buyer: BuyerResult
    forecast: Forecast | None
    revenues: list[Revenue] = field(default_factory=list)
    us: Floats | None = None
    gains: Floats | None = None

    def revenue_at(self, price: float, bid: Bid) -> float:
        """What this bid would have paid at market price `price` (same gain curve)."""
        if self.us is None or self.gains is None or price <= 0:
            return 0.0
        u = min(float(bid.bid_price) / price, 1.0)
        _, unit = unit_payment(u, self.us, self.gains)
        return min(price * unit, float(bid.max_payment))


class Clearer:
    def __init__(self, data: Mapping[int, Measurements], params: ClearingParams, price: float):
        self.data = dict(data)
        self.params = params
        self.price = price
        self._aligned: dict[int, AlignedSeries] = {}

    def aligned(self, interval_min: int) -> AlignedSeries:
        if interval_min not in self._aligned:
            grid = make_grid(interval_min, self.params)
            self._aligned[interval_min] = AlignedSeries(grid, self.data)
        return self._aligned[interval_min]

    def clear_bid(self, bid: Bid) -> BidOutcome:
        params = self.params
        nothing = BuyerResult(
            bid.bid_id, bid.user_id, bid.resource_id, 0.0, Decimal(0), Decimal(0), ()
        )
        buyer = self.data.get(bid.resource_id)
        if buyer is None:
            note = "no measurements of this resource: no forecast, no payment"
            return BidOutcome(replace(nothing, note=note), None)
        aligned = self.aligned(buyer.interval_min)
        grid = aligned.grid
        target = aligned.raw(bid.resource_id)
        rows = Rows.of(grid, target)
        if rows.train.size + rows.test.size == 0:
            note = "no measurements in the training window: no forecast, no payment"
            return BidOutcome(replace(nothing, note=note), None)
        enough = rows.train.size >= MIN_TRAIN and rows.test.size >= MIN_TEST
        sellers: list[int] = []
        if enough:
            others = [r for r, m in self.data.items() if m.user_id != bid.user_id]
            centred = target[rows.train] - target[rows.train].mean()
            sellers = select_sellers(aligned, others, centred, rows.train, params.max_sellers)
        rng = np.random.default_rng(seed_of(params, bid.bid_id))
        design = build_design(aligned, bid.resource_id, sellers, rows, rng)
        model = ValueModel(design, bid.gain_func, params.ridge_alpha)
        times = grid.times()[rows.forecast]

        def forecast(mask: int, sigma: float) -> Forecast:
            values = model.forecast(mask, sigma)
            return Forecast(bid.bid_id, bid.resource_id, bid.user_id, times, values)

        if not enough:
            note = (
                f"too little data to value other data ({rows.train.size} training and "
                f"{rows.test.size} held-out points; {MIN_TRAIN} and {MIN_TEST} needed): "
                "buyer-only forecast, no payment"
            )
            return BidOutcome(replace(nothing, note=note), forecast(0, 0.0))
        price = self.price
        u_bid = min(float(bid.bid_price) / price, 1.0) if price > 0 else 1.0
        us = np.union1d(np.linspace(0.0, 1.0, params.price_points), [u_bid])
        everyone = (1 << len(sellers)) - 1
        gains = np.array([model.at(noise_sigma(u, params)).gain(everyone) for u in us])
        gain, unit = unit_payment(u_bid, us, gains)
        if gain <= 0:
            note = "the other users' data does not improve this forecast: buyer-only, no payment"
            return BidOutcome(replace(nothing, note=note), forecast(0, 0.0), [], us, gains)
        cap = floor_to(bid.max_payment, params.quantum)
        payment = min(floor_to(to_decimal(price * unit), params.quantum), cap)
        sigma = noise_sigma(u_bid, params)
        valuer = model.at(sigma)
        phi = shapley_sampled(
            valuer.gain,
            len(sellers),
            params.shapley_permutations,
            seed_of(params, bid.bid_id, 1),
            values=valuer.gains,
        )
        fee, amounts = split(payment, params.fee, phi, params.quantum)
        revenues = [
            Revenue(bid.bid_id, self.data[r].user_id, r, phi[i], amounts[i])
            for i, r in enumerate(sellers)
            if amounts[i] > 0
        ]
        result = BuyerResult(
            bid.bid_id, bid.user_id, bid.resource_id, gain, payment, fee, tuple(sellers)
        )
        return BidOutcome(result, forecast(everyone, sigma), revenues, us, gains)


def clear(
    bids: Sequence[Bid],
    data: Mapping[int, Measurements],
    grid: PriceGrid,
    params: ClearingParams,
) -> Clearing:
    """Forecast, value and price one session. Deterministic for the same inputs: bids are
    cleared in bid_id order, each with its own random stream (seed, bid_id).

    The matrices are small (tens of columns): BLAS runs them on one thread, which on a
    busy machine is several times faster than its threads fighting for the cores."""
    check_inputs(bids, data, grid, params)
    clearer = Clearer(data, params, float(grid.market_price))
    ordered = sorted(bids, key=lambda b: b.bid_id)
    with threadpool_limits(limits=1, user_api="blas"):
        outcomes = [clearer.clear_bid(bid) for bid in ordered]

    def revenue_at(price: Decimal) -> float:
        return sum(o.revenue_at(float(price), b) for o, b in zip(outcomes, ordered, strict=True))

    price, weights = next_price(grid, revenue_at)
    return Clearing(
        forecasts=tuple(o.forecast for o in outcomes if o.forecast is not None),
        buyers=tuple(o.buyer for o in outcomes),
        revenues=tuple(r for o in outcomes for r in o.revenues),
        next_market_price=price,
        price_weights=tuple(weights),
    )
