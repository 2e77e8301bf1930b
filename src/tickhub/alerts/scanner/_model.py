"""What a scan works with: the (instrument, interval) groups, a group read and evaluated,
what storing it did, and the result of one scan. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tickhub.alerts.events import AlertRaised
from tickhub.alerts.scanner._engine import GroupRequest, Hit, Job
from tickhub.alerts.scanner._store import Mark, NewAlert, StrategyRow

US = 1_000_000
DAY_US = 86_400 * US
WEEK_OFFSET_US = 4 * DAY_US  # 1970-01-01 was a Thursday; weeks start on Monday

Publish = Callable[[str, Any], Awaitable[None]]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ScanResult:
    at: int  # the minute boundary scanned, µs
    groups: int  # (instrument, interval) groups with candles to decide
    claimed: int  # strategy marks moved forward by this scanner
    decisions: int  # (strategy, candle) pairs evaluated and claimed
    alerts: tuple[AlertRaised, ...]
    failed: int = 0  # groups that raised (logged; retried at the next scan)
    seconds: float = 0.0


@dataclass(slots=True)
class Group:
    exchange: str
    symbol: str
    instrument: Any  # the market-data service's instrument
    interval: str
    interval_us: int
    close: int  # C: the latest close at or before the scan time, µs
    strategies: list[StrategyRow] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    claimed: int = 0
    decisions: int = 0
    alerts: list[AlertRaised] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)  # not claimed from a remembered mark


@dataclass(slots=True)
class Prepared:
    """A group read and evaluated, ready to be claimed and stored."""

    group: Group
    pending: list[StrategyRow]  # strategies with a candle to decide
    seen: dict[int, Mark]  # their marks as read (or remembered)
    fresh: list[int]  # strategies without a stored mark here yet
    remembered: set[int]  # strategies whose mark came from this scanner's memory
    jobs: list[Job]
    hits: list[Hit]
    request: GroupRequest


def latest_close(at_us: int, interval_us: int, *, weekly: bool = False) -> int:
    """The latest close of a UTC-aligned interval at or before `at_us`."""
    offset = WEEK_OFFSET_US if weekly else 0
    return at_us - (at_us - offset) % interval_us


def alert_event(alert: NewAlert, alert_id: int) -> AlertRaised:
    return AlertRaised(
        alert_id=alert_id,
        user_id=alert.strategy.user_id,
        strategy_id=alert.strategy.id,
        strategy_name=alert.strategy.name,
        exchange=alert.exchange,
        symbol=alert.symbol,
        interval=alert.strategy.interval,
        candle_start=alert.candle_start,
        candle_close=alert.candle_close,
        condition=alert.strategy.condition,
        close=alert.close,
        raised_at=int(alert.raised_at.timestamp() * US),
        values=dict(alert.values),
    )
