"""Shapley values of a coalition game v(S), S a bit mask over n players, v(0) = 0 assumed
only through differences: phi_i = E[v(S + i) - v(S)] over the players before i in a random
order. Exact over all 2^n subsets, or sampled over permutations with a fixed seed."""

from __future__ import annotations

from collections.abc import Callable
from math import factorial

import numpy as np

Value = Callable[[int], float]


def shapley_exact(value: Value, n: int) -> list[float]:
    """phi_i = sum over S not containing i of |S|! (n-|S|-1)! / n! (v(S+i) - v(S)):
    2^n evaluations of v."""
    if n == 0:
        return []
    values = [value(mask) for mask in range(1 << n)]
    weight = [factorial(k) * factorial(n - k - 1) / factorial(n) for k in range(n)]
    phi = [0.0] * n
    for mask in range(1 << n):
        size = mask.bit_count()
        for i in range(n):
            if not mask >> i & 1:
                phi[i] += weight[size] * (values[mask | 1 << i] - values[mask])
    return phi


def shapley_sampled(value: Value, n: int, permutations: int, seed: int | list[int]) -> list[float]:
    """The mean marginal contribution over `permutations` random orders drawn from
    `seed`; at most permutations * n evaluations of v (fewer when v is memoised). The
    sum over players is v(all) - v(none) exactly, as for the exact values."""
    if n == 0:
        return []
    rng = np.random.default_rng(seed)
    phi = [0.0] * n
    rounds = max(1, permutations)
    for _ in range(rounds):
        mask = 0
        before = value(0)
        for i in rng.permutation(n).tolist():
            mask |= 1 << i
            after = value(mask)
            phi[i] += after - before
            before = after
    return [p / rounds for p in phi]
