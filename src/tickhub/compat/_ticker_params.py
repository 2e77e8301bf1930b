"""Seed 004's query parameters parsed as the seed reads them, without the database: its
datetimes (naive UTC, or ISO 8601 with `Z` or an offset) and the bounds they give at whole
seconds, its page parameters and links. A bad value raises `SeedError` with the seed's
wording (or one naming the parameter)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlunsplit

from starlette.requests import Request

from tickhub.common.time import datetime_to_us
from tickhub.compat._params import int_or_none

US = 1_000_000


class SeedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def start_us(start: datetime) -> int:
    """The first whole second at or after `start` (inclusive)."""
    return -(-datetime_to_us(start) // US) * US


def end_us(end: datetime) -> int:
    """The last microsecond of `end`'s second (inclusive)."""
    return datetime_to_us(end) // US * US + US - 1


def parse_datetime(name: str, raw: str) -> datetime:
    """`YYYY-MM-DDTHH:MM:SS` (UTC), or ISO 8601 with `Z` or an offset."""
    try:
        value = datetime.fromisoformat(raw.strip())
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise SeedError(
            f"Invalid {name} {raw!r}: use YYYY-MM-DDTHH:MM:SS (UTC) or ISO 8601 with Z or an offset"
        ) from exc


def page_param(name: str, raw: str | None, *, default: int, minimum: int) -> int:
    if raw is None or not raw.strip():
        return default
    value = int_or_none(raw)
    if value is None or value < minimum:
        kind = "a positive" if minimum > 0 else "a non-negative"
        raise SeedError(f"Invalid {name} {raw!r}: use {kind} whole number")
    return value


def page_link(request: Request, limit: int, offset: int | None) -> str:
    """The request's absolute URL with `limit` and `offset` set (or `offset` removed),
    parameters sorted, on the seed's slash-terminated path, as DRF built them."""
    url = request.url
    query = parse_qs(url.query, keep_blank_values=True)
    query["limit"] = [str(limit)]
    if offset is None:
        query.pop("offset", None)
    else:
        query["offset"] = [str(offset)]
    path = url.path if url.path.endswith("/") else url.path + "/"
    return urlunsplit(
        (url.scheme, url.netloc, path, urlencode(sorted(query.items()), doseq=True), "")
    )


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)
