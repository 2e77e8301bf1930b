"""The access log's line: its fields, and their JSON text.

`TelemetryMiddleware` hands a request's fields, a plain tuple, to the log's writer thread
(`_logs.QueuedStreamHandler.put_fields`) when that is the only place the line goes, and
otherwise logs an `AccessLine` record on `tickhub.access` like any other: both become
the same text, made by `access_text` off the request path."""

from __future__ import annotations

import math
import time

import orjson

# (wall, request_id, method, route, status, duration_ms, client, bytes)
AccessFields = tuple[float, str | None, str, str, int, float, str | None, int]

# The time's text up to the seconds, for the second last written: lines come in bursts
# within a second. One tuple, replaced whole (read and written from any thread).
_second: tuple[int, str] = (-1, "")


def time_text(wall: float) -> str:
    """`wall` (seconds since the epoch) as ISO 8601 UTC with milliseconds and a `Z`:
    what `datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")` gives
    with `Z` for `+00:00` (rounded to the microsecond half to even, as `datetime` does,
    then cut to the millisecond), without a `datetime` per line."""
    global _second
    frac, whole = math.modf(wall)
    seconds = int(whole)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    elif micros < 0:
        seconds, micros = seconds - 1, micros + 1_000_000
    known, prefix = _second
    if known != seconds:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second = (seconds, prefix)
    return f"{prefix}.{micros // 1000:03d}Z"


def access_text(fields: AccessFields) -> str:
    """One access line: `time, request_id, method, route, status, duration_ms, client,
    bytes`, as compact JSON."""
    wall, request_id, method, route, status, duration_ms, client, sent = fields
    line = {
        "time": time_text(wall),
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "client": client,
        "bytes": sent,
    }
    return orjson.dumps(line).decode()


class AccessLine:
    """One access-log line as a log record's message, kept as its fields and turned into
    text only when a handler reads the message (in the writer thread, for ours)."""

    __slots__ = ("fields",)

    def __init__(self, fields: AccessFields) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return access_text(self.fields)
