"""Shapley values of a coalition game v(S), S a bit mask over n players:
phi_i = E[v(S + i) - v(S)] over the players S before i in a random order. Exact over all
2^n subsets, or sampled over permutations with a fixed seed.

`value` gives v of one mask; `values`, when given, gives v of many masks at once (the
engine solves coalitions of one size together) and is used instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import factorial

import numpy as np

Value = Callable[[int], float]
Values = Callable[[Sequence[int]], Sequence[float]]


def _evaluate(value: Value, values: Values | None, masks: Sequence[int]) -> dict[int, float]:
    unique = list(dict.fromkeys(masks))
    got = values(unique) if values is not None else [value(m) for m in unique]
    return dict(zip(unique, got, strict=True))


def shapley_exact(value: Value, n: int, *, values: Values | None = None) -> list[float]:
    """phi_i = sum over S not containing i of |S|! (n-|S|-1)! / n! (v(S+i) - v(S)):
    2^n evaluations of v."""
    if n == 0:
        return []
    v = _evaluate(value, values, range(1 << n))
    weight = [factorial(k) * factorial(n - k - 1) / factorial(n) for k in range(n)]
    phi = [0.0] * n
    for mask in range(1 << n):
        w = weight[mask.bit_count()] if mask != (1 << n) - 1 else 0.0
        for i in range(n):
            if not mask >> i & 1:
                phi[i] += w * (v[mask | 1 << i] - v[mask])
    return phi


def shapley_sampled(
    value: Value,
    n: int,
    permutations: int,
    seed: int | Sequence[int],
    *,
    values: Values | None = None,
) -> list[float]:
    """The mean marginal contribution over `permutations` random orders drawn from `seed`:
    at most permutations * n + 1 distinct coalitions, each evaluated once. The values sum
    to v(all) - v(none) exactly, as the exact ones do."""
    if n == 0:
        return []
    rng = np.random.default_rng(list(seed) if isinstance(seed, Sequence) else seed)
    rounds = max(1, permutations)
    orders = [rng.permutation(n).tolist() for _ in range(rounds)]
    chains = []
    for order in orders:
        chain = [0]
        for i in order:
            chain.append(chain[-1] | 1 << i)
        chains.append(chain)
    v = _evaluate(value, values, [m for chain in chains for m in chain])
    phi = [0.0] * n
    for order, chain in zip(orders, chains, strict=True):
        for k, i in enumerate(order):
            phi[i] += v[chain[k + 1]] - v[chain[k]]
    return [p / rounds for p in phi]
