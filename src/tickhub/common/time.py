"""UTC time, one way everywhere: aware datetimes, and integer microseconds since the Unix
epoch for market data (exact: conversions never go through a float unless named so)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def from_us(ts: int) -> datetime:
    """Microseconds since the epoch → an aware UTC datetime (exact)."""
    return EPOCH + timedelta(microseconds=ts)


def us_to_datetime(ts: int) -> datetime:
    """Microseconds → an aware UTC datetime through a float (the rounding the seed paths
    have always shown; use `from_us` for exact values)."""
    return datetime.fromtimestamp(ts / 1_000_000, tz=UTC)


def datetime_to_us(value: datetime) -> int:
    """An aware datetime (naive is read as UTC) → microseconds since the epoch (exact)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_time(value: datetime) -> str:
    """`2026-11-23T15:34:07.123456Z`: UTC, fixed microsecond precision."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"
