"""Money: the Myerson payment from a gain curve, quantisation, and the split of a payment
into the market's fee and the sellers' revenues."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from tickhub.market.engine._align import Floats


def floor_to(amount: Decimal, quantum: Decimal) -> Decimal:
    """The largest multiple of `quantum` not above `amount`."""
    return (amount / quantum).to_integral_value(rounding=ROUND_FLOOR) * quantum


def to_decimal(x: float) -> Decimal:
    return Decimal(repr(float(x))) if math.isfinite(x) else Decimal(0)


def envelope(gains: Floats) -> Floats:
    """The largest non-decreasing curve under max(G, 0) that ends at G's last point:
    a running minimum from the right, so that the allocation is monotone (Myerson)."""
    clipped = np.maximum(gains, 0.0)
    return np.asarray(np.minimum.accumulate(clipped[::-1])[::-1], dtype=np.float64)


def unit_payment(u: float, us: Floats, gains: Floats) -> tuple[float, float]:
    """(G(u), u G(u) - integral_0^u G) for the gain curve `gains` at the relative prices
    `us` = z / market_price (ascending, from 0, up to 1), interpolated linearly between
    points, monotone by `envelope`. Times the market price, the second is the payment."""
    u = min(max(u, 0.0), float(us[-1]))
    inside = us < u
    points = np.append(us[inside], u)
    curve = np.append(gains[inside], np.interp(u, us, gains))
    mono = envelope(curve)
    area = float(np.sum((mono[1:] + mono[:-1]) * np.diff(points)) / 2)
    gain = float(mono[-1])
    return gain, max(0.0, u * gain - area)


def split(
    payment: Decimal, fee_share: Decimal, shapley: Sequence[float], quantum: Decimal
) -> tuple[Decimal, list[Decimal]]:
    """(fee, revenue per player). The sellers' pool, payment (1 - fee_share) rounded down,
    goes to the players with a positive Shapley value in proportion to it, each share
    rounded down; the fee is the rest, so payment == fee + sum(revenues) exactly."""
    pool = floor_to(payment * (1 - fee_share), quantum)
    positive = [to_decimal(max(0.0, s)) for s in shapley]
    total = sum(positive, Decimal(0))
    amounts = [Decimal(0)] * len(shapley)
    if total > 0 and pool > 0:
        for i, p in enumerate(positive):
            if p > 0:
                amounts[i] = min(pool, floor_to(pool * p / total, quantum))
        while sum(amounts) > pool:  # float shares that add up to a hair above 1
            worst = max(range(len(amounts)), key=lambda i: amounts[i])
            amounts[worst] -= quantum
    return payment - sum(amounts, Decimal(0)), amounts
