"""Backoff with jitter and `Retry-After`: the engine's retry arithmetic. Pure."""

from __future__ import annotations

import random
from typing import Final

DEFAULT_RETRY_AFTER_S: Final = 60.0


def backoff_delay(
    attempt: int, initial: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: attempt 0 waits about `initial`, doubling up to `maximum`.

    The delay lies in [cap/2, cap] ("equal jitter"), so clients that failed together do
    not retry together, yet never retry at once.
    """
    cap = min(maximum, initial * 2.0 ** min(max(attempt, 0), 32))
    return cap / 2 + (rng or random).uniform(0, cap / 2)


def retry_after_s(value: str | None, default: float = DEFAULT_RETRY_AFTER_S) -> float:
    """Seconds from a `Retry-After` header (venues send whole seconds)."""
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if 0 <= seconds < float("inf") else default
