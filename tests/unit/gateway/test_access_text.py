"""The access line's text, made without `datetime` or a `LogRecord`, against the
straightforward way of making it."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson

from tickhub.gateway._access import AccessFields, AccessLine, access_text, time_text


def _plain_time(wall: float) -> str:
    moment = datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def _plain_line(fields: AccessFields) -> str:
    wall, request_id, method, route, status, duration_ms, client, sent = fields
    line = {
        "time": _plain_time(wall),
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "client": client,
        "bytes": sent,
    }
    return orjson.dumps(line).decode()


def test_time_text_is_what_datetime_gives() -> None:
    rng = random.Random(14)
    walls = [0.0, 0.25, 0.9995, 0.9999995, 0.9999994, 1.0000005, 59.9999999, -0.5]
    walls += [-1.0000004, -0.0000004, 1_733_500_000.0, 1_733_500_000.9999996]
    walls += [1_733_500_059.999, 4_102_444_799.9999999]
    walls += [rng.uniform(0, 4_102_444_800) for _ in range(20_000)]
    walls += [1_733_500_000 + rng.random() for _ in range(20_000)]  # one second, cached text
    walls += [1_733_500_000 + k / 1e6 + 5e-7 for k in range(0, 1_000_000, 997)]  # half-way cases
    for wall in walls:
        assert time_text(wall) == _plain_time(wall), wall


def test_access_text_is_the_straightforward_json() -> None:
    rng = random.Random(15)
    for i in range(5_000):
        fields = (
            1_733_500_000 + rng.random() * 100,
            rng.choice([None, f"{i:032x}", "r-1"]),
            rng.choice(["GET", "POST", "OTHER"]),
            rng.choice(["/v1/prices/{exchange}/{symbol}", "/api/current_price", "unmatched"]),
            rng.choice([200, 404, 500, 0]),
            rng.random() * rng.choice([1, 1000, 1e-4]),
            rng.choice([None, "127.0.0.1", "::1"]),
            rng.randrange(1 << 20),
        )
        assert access_text(fields) == _plain_line(fields)
        assert str(AccessLine(fields)) == _plain_line(fields)
