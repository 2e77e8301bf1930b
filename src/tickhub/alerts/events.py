"""Alert messages on the bus. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """Published by the scanner after the alert is stored; API processes push it to the
    owner's WebSocket connections."""

    alert_id: int
    user_id: str
    strategy_id: int
    strategy_name: str
    exchange: str
    symbol: str
    interval: str
    candle_start: int  # µs
    candle_close: int  # µs
    condition: str
    close: float
    raised_at: int  # µs
    values: dict[str, float | None] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return alerts_topic(self.user_id)


def alerts_topic(user_id: str) -> str:
    return f"alerts.{user_id}"
