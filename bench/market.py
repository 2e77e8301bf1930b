"""Market engine: one session of 100 users with 100 resources of a year of 15-minute data
(35,040 points each) and 50 bids, cleared by `tickhub.market.engine.clear`: time and peak
memory, beside the naive valuation measured in the same run on one of its bids: exact
Shapley values over every subset of the bid's candidate sellers, each coalition's model
refitted from its rows (what the engine does instead: sampled permutations, and a solve on
a sub-matrix of Gram matrices computed once per bid).

    .venv/bin/python bench/market.py [--users 100] [--days 365] [--bids 50] [--small 12]

Synthetic data (fixed seed): ten regions, each with a slow weather factor; a resource is a
daily profile scaled by its region's factor, plus noise; one resource in two sees its
region's weather a day ahead of the others, so that a buyer's forecast a day ahead gains
from its neighbours' data.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal

import numpy as np
from threadpoolctl import threadpool_limits

from tickhub.market.engine import (
    Bid,
    ClearingParams,
    Measurements,
    PriceGrid,
    clear,
    shapley_exact,
    shapley_sampled,
)
from tickhub.market.engine._clear import Clearer, noise_sigma, seed_of
from tickhub.market.engine._fit import ValueModel
from tickhub.market.engine._model import Design, Rows, build_design, select_sellers

STEP = 900
LAUNCH = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY_STEPS = 96


def synthetic_market(users: int, days: int, seed: int = 2026) -> dict[int, Measurements]:
    rng = np.random.default_rng(seed)
    n = days * DAY_STEPS
    times = LAUNCH - STEP * np.arange(n - 1, -1, -1, dtype=np.int64)
    regions = 10
    shocks = rng.standard_normal((regions, n + DAY_STEPS)) * 0.05
    weather = np.empty_like(shocks)
    weather[:, 0] = 0.0
    for t in range(1, weather.shape[1]):  # AR(1), phi = 0.995 per 15 minutes
        weather[:, t] = 0.995 * weather[:, t - 1] + shocks[:, t]
    hour = (times % 86_400) / 3600
    profile = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None) + 0.2
    data = {}
    for r in range(1, users + 1):
        region = r % regions
        ahead = DAY_STEPS if r % 2 == 0 else 0  # even resources see tomorrow's weather
        factor = weather[region, ahead : ahead + n]
        values = 100 * profile * (1 + 0.5 * factor) + 5 * rng.standard_normal(n)
        data[r] = Measurements(r, r, 15, times, values)
    return data


def naive_exact_shapley(design: Design, sigma: float, gain_func: str, alpha: float) -> list[float]:
    """Every subset of sellers: build its features with the noise, refit ridge from the
    rows, predict the held-out rows; Shapley by the subset formula."""
    d = design
    x = d.x[: d.n_fit] + sigma * d.noise[: d.n_fit]
    y_train, y_test = d.y[: d.n_train], d.y[d.n_train :]
    n = len(d.groups)

    def loss(mask: int) -> float:
        cols = np.concatenate(
            [np.arange(d.n_own)] + [g for i, g in enumerate(d.groups) if mask >> i & 1]
        )
        a = x[: d.n_train][:, cols]
        penalty = np.full(cols.size, alpha * d.n_train)
        penalty[cols == 0] = 0.0
        beta = np.linalg.solve(a.T @ a + np.diag(penalty), a.T @ y_train)
        error = y_test - x[d.n_train :][:, cols] @ beta
        mse = float(np.mean(error**2))
        if gain_func == "mae":
            return float(np.mean(np.abs(error)))
        return mse if gain_func == "mse" else mse**0.5

    base = loss(0)
    return shapley_exact(lambda mask: (base - loss(mask)) / base, n)


def timed(run: Callable[[], list[float]], repeat: int = 5) -> tuple[list[float], float]:
    """The result and the median time of `repeat` runs (each from a fresh model)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def bids_for(data: dict[int, Measurements], count: int) -> list[Bid]:
    buyers = [r for r in sorted(data) if r % 2 == 1][:count]  # the ones a day behind first
    buyers += [r for r in sorted(data) if r % 2 == 0][: count - len(buyers)]
    funcs = ("mse", "rmse", "mae")
    return [
        Bid(i + 1, data[r].user_id, r, Decimal(40 + 5 * (i % 20)), Decimal(10_000), funcs[i % 3])
        for i, r in enumerate(buyers)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--bids", type=int, default=50)
    parser.add_argument("--small", type=int, default=12, help="sellers in the naive case")
    args = parser.parse_args()

    data = synthetic_market(args.users, args.days)
    points = sum(m.times.size for m in data.values())
    bids = bids_for(data, args.bids)
    grid = PriceGrid(Decimal(60), Decimal(20), Decimal(200), 10, 0.1)
    params = ClearingParams(launch_time=LAUNCH, horizon_h=24, quantum=Decimal("0.01"))
    print(
        f"{args.users} resources x {args.days * DAY_STEPS:,} points ({points:,}), "
        f"{len(bids)} bids, horizon {params.horizon_h} h, training window "
        f"{params.train_days} days ({params.holdout_days} held out), "
        f"{params.max_sellers} candidate sellers per bid, "
        f"{params.shapley_permutations} permutations"
    )

    runs = []
    for _ in range(3):
        started = time.perf_counter()
        clearing = clear(bids, data, grid, params)
        runs.append(time.perf_counter() - started)
    elapsed = statistics.median(runs)
    tracemalloc.start()  # a separate run: tracing slows allocation down
    again = clear(bids, data, grid, params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert again.buyers == clearing.buyers and again.revenues == clearing.revenues
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    paid = sum((b.payment for b in clearing.buyers), Decimal(0))
    earned = sum((r.amount for r in clearing.revenues), Decimal(0))
    fees = sum((b.fee for b in clearing.buyers), Decimal(0))
    gains = [b.gain for b in clearing.buyers]
    assert paid == earned + fees
    print(
        f"clear: {elapsed:.2f} s, median of 3 ({', '.join(f'{r:.2f}' for r in runs)}), "
        f"{elapsed / len(bids) * 1000:.0f} ms a bid; peak memory allocated while clearing "
        f"{peak / 2**20:.0f} MiB (tracemalloc, a 4th run; the input data, "
        f"{points * 16 / 2**20:.0f} MiB, apart); max RSS of the whole process {rss:.0f} MiB"
    )
    print(
        f"  gain: median {np.median(gains):.3f}, max {max(gains):.3f}; "
        f"{sum(g > 0 for g in gains)} of {len(bids)} bids buy; payments {paid} = revenues "
        f"{earned} + fees {fees}; next price {clearing.next_market_price}"
    )

    # The naive valuation, on the first bid, restricted to `small` candidate sellers.
    small = ClearingParams(launch_time=LAUNCH, horizon_h=24, max_sellers=args.small)
    bid = bids[0]
    clearer = Clearer(data, small, float(grid.market_price))
    aligned = clearer.aligned(15)
    target = aligned.raw(bid.resource_id)
    rows = Rows.of(aligned.grid, target)
    y = target[rows.train] - target[rows.train].mean()
    others = [r for r, m in data.items() if m.user_id != bid.user_id]
    sellers = select_sellers(aligned, others, y, rows.train, args.small)
    rng = np.random.default_rng(seed_of(small, bid.bid_id))
    design = build_design(aligned, bid.resource_id, sellers, rows, rng)
    sigma = noise_sigma(float(bid.bid_price / grid.market_price), small)
    n = len(sellers)

    with threadpool_limits(limits=1, user_api="blas"):  # as the engine runs
        started = time.perf_counter()
        naive = naive_exact_shapley(design, sigma, bid.gain_func, small.ridge_alpha)
        t_naive = time.perf_counter() - started

        def exact_on_gram() -> list[float]:
            valuer = ValueModel(design, bid.gain_func, small.ridge_alpha).at(sigma)
            return shapley_exact(valuer.gain, n, values=valuer.gains)

        def sampled_on_gram() -> list[float]:
            valuer = ValueModel(design, bid.gain_func, small.ridge_alpha).at(sigma)
            seed = seed_of(small, bid.bid_id, 1)
            permutations = small.shapley_permutations
            return shapley_sampled(valuer.gain, n, permutations, seed, values=valuer.gains)

        exact, t_exact = timed(exact_on_gram)
        sampled, t_sampled = timed(sampled_on_gram)

    error = max(abs(a - b) for a, b in zip(exact, sampled, strict=True))
    agree = max(abs(a - b) for a, b in zip(exact, naive, strict=True))
    print(f"one bid, {n} candidate sellers ({1 << n:,} coalitions), {bid.gain_func}:")
    print(f"  naive (exact Shapley, every coalition refitted from its rows): {t_naive:.2f} s")
    print(f"  exact Shapley on the Gram matrices (median of 5):            {t_exact:.3f} s")
    print(
        f"  engine (sampled, {small.shapley_permutations} permutations, Gram, median of 5): "
        f"{t_sampled:.3f} s"
    )
    print(
        f"  ratio naive / engine: {t_naive / t_sampled:.0f}x; exact on Gram / engine: "
        f"{t_exact / t_sampled:.1f}x; largest |sampled - exact| = {error:.4f} "
        f"(values sum to {sum(exact):.3f}); naive and Gram exact agree to {agree:.1e}"
    )
    print(
        f"  {len(bids)} bids valued the naive way with {n} sellers each: about "
        f"{t_naive * len(bids):.0f} s (extrapolated), {t_naive * len(bids) / elapsed:.0f}x "
        f"the engine's whole session ({params.max_sellers} sellers a bid); with all "
        f"{args.users - 1} other resources as sellers the exact sum has 2^{args.users - 1} "
        "coalitions"
    )


if __name__ == "__main__":
    main()
