"""What the HTTP notifiers share: reading a bounded part of an answer, `Retry-After`, and
which statuses are worth another attempt."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

# Bytes of an answer read at most (for an error message); the rest is not downloaded.
MAX_ANSWER_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 429})


def retryable(status: int) -> bool:
    """408, 429 and 5xx: the receiver may accept the same request later."""
    return status in RETRYABLE_STATUSES or status >= 500


async def read_bounded(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """Up to `limit` bytes of a streamed answer's body."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
