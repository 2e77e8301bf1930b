"""What a venue's parser hands the engine: trades, heartbeats, notices. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from tickhub.marketdata.events import Trade


class FrameError(ValueError):
    """A venue message that does not parse; the message says why."""


class Notice(Enum):
    SERVER_SHUTDOWN = "serverShutdown"  # the venue will drop this connection soon


@dataclass(frozen=True, slots=True)
class ParsedTrade:
    symbol: str
    trade: Trade


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The venue's word on the last trade id of `symbol`: ids up to it exist."""

    symbol: str
    last_trade_id: int


Parsed = ParsedTrade | Heartbeat | Notice | None
"""One message: a trade, a heartbeat, a notice, or None for a valid message of no interest."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing trade ids `first_id..last_id` (inclusive) of one symbol."""

    symbol: str
    first_id: int
    last_id: int

    @property
    def size(self) -> int:
        return self.last_id - self.first_id + 1


def field_int(data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError(f"field {key!r} missing or not a non-negative integer: {value!r}")
    return value


def field_amount(data: Mapping[str, object], key: str) -> float:
    value = data.get(key)
    try:
        number = float(value) if isinstance(value, str) else math.nan
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise FrameError(f"field {key!r} missing or not a positive decimal string: {value!r}")
    return number


def field_bool(data: Mapping[str, object], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise FrameError(f"field {key!r} missing or not a boolean: {value!r}")
    return value


def field_str(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise FrameError(f"field {key!r} missing or not a string: {value!r}")
    return value
