"""The next session's market price: multiplicative weights over the price steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

from tickhub.common.errors import Invalid
from tickhub.market.engine._types import PriceGrid

STEP_QUANTUM = Decimal("0.000001")  # steps between b_min and b_max are rounded to this


def price_steps(grid: PriceGrid) -> list[Decimal]:
    """n_price_steps prices evenly spaced from b_min to b_max, both included."""
    if grid.n_price_steps < 1:
        raise Invalid("n_price_steps must be at least 1.", field="n_price_steps")
    if grid.b_min < 0 or grid.b_max < grid.b_min:
        raise Invalid("Need 0 <= b_min <= b_max.", field="b_max")
    n = grid.n_price_steps
    if n == 1:
        return [grid.b_min]
    width = grid.b_max - grid.b_min
    inner = [_tidy(grid.b_min + width * k / (n - 1)) for k in range(1, n - 1)]
    return [grid.b_min, *inner, grid.b_max]


def _tidy(price: Decimal) -> Decimal:
    """Rounded to STEP_QUANTUM, without trailing zeros (40, not 40.000000)."""
    rounded = price.quantize(STEP_QUANTUM, rounding=ROUND_HALF_EVEN)
    if rounded == rounded.to_integral_value():
        return rounded.quantize(Decimal(1))
    return rounded.normalize()


def previous_weights(grid: PriceGrid) -> list[float]:
    n = grid.n_price_steps
    if grid.weights is None:
        return [1.0 / n] * n
    weights = list(grid.weights)
    if len(weights) != n or not all(math.isfinite(w) and w > 0 for w in weights):
        raise Invalid(f"weights needs {n} positive numbers, one per price step.", field="weights")
    total = sum(weights)
    return [w / total for w in weights]


def next_price(
    grid: PriceGrid, revenue_at: Callable[[Decimal], float]
) -> tuple[Decimal, list[tuple[Decimal, float]]]:
    """w_k <- w_k (1 + delta)^(R(p_k) / max_j R(p_j)), normalised to sum 1, where R(p) is
    the revenue the session's bids would have raised at market price p; the next price is
    the step of highest weight (the lowest such step on a tie)."""
    if not (math.isfinite(grid.delta) and grid.delta >= 0):
        raise Invalid("delta must be a non-negative number.", field="delta")
    steps = price_steps(grid)
    weights = previous_weights(grid)
    revenues = [max(0.0, revenue_at(p)) for p in steps]
    top = max(revenues)
    if top > 0:
        weights = [
            w * (1 + grid.delta) ** (r / top) for w, r in zip(weights, revenues, strict=True)
        ]
    total = sum(weights)
    weights = [w / total for w in weights]
    best = max(range(len(steps)), key=lambda k: (weights[k], -k))
    return steps[best], list(zip(steps, weights, strict=True))
