"""Synthetic markets for the engine's tests: seller A's series leads the buyer's by one
step, seller B's is noise."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tickhub.market.engine import Bid, ClearingParams, Measurements, PriceGrid

HOUR = 3600
LAUNCH = 1_767_225_600  # 2026-01-01T00:00:00Z
BUYER, SELLER_A, SELLER_B = 1, 2, 3  # resource ids (user ids are 10x)


def market(
    days: int = 70,
    a: float = 2.0,
    noise: float = 0.3,
    seed: int = 7,
    end: int = LAUNCH,
    extra_noise: int = 0,
) -> dict[int, Measurements]:
    """Hourly series ending at `end`: buyer(t) = a A(t-1) + noise; B independent, and
    `extra_noise` more independent series (resources 4, 5, ...)."""
    rng = np.random.default_rng(seed)
    n = days * 24
    times = end - HOUR * np.arange(n - 1, -1, -1, dtype=np.int64)
    series_a = rng.standard_normal(n + 1)
    buyer = a * series_a[:-1] + noise * rng.standard_normal(n)
    values = {BUYER: buyer, SELLER_A: series_a[1:], SELLER_B: rng.standard_normal(n)}
    for k in range(extra_noise):
        values[4 + k] = rng.standard_normal(n)
    return {
        r: Measurements(resource_id=r, user_id=10 * r, interval_min=60, times=times, values=v)
        for r, v in values.items()
    }


def bid(
    bid_id: int = 1,
    price: str = "100",
    max_payment: str = "1000",
    gain_func: str = "mse",
    resource_id: int = BUYER,
) -> Bid:
    return Bid(
        bid_id=bid_id,
        user_id=10 * resource_id,
        resource_id=resource_id,
        bid_price=Decimal(price),
        max_payment=Decimal(max_payment),
        gain_func=gain_func,
    )


def price_grid(market_price: str = "100", weights: tuple[float, ...] | None = None) -> PriceGrid:
    return PriceGrid(
        market_price=Decimal(market_price),
        b_min=Decimal("20"),
        b_max=Decimal("200"),
        n_price_steps=10,
        delta=0.05,
        weights=weights,
    )


def params(**changes: object) -> ClearingParams:
    base: dict[str, object] = {"launch_time": LAUNCH, "horizon_h": 1, "quantum": Decimal("0.01")}
    base.update(changes)
    return ClearingParams(**base)  # type: ignore[arg-type]
