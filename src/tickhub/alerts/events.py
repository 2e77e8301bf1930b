"""Alert messages on the bus, and how they travel (`MESSAGES`). Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tickhub.bus.codec import FieldCodec, Fields, MessageSpec, describe, message_spec


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


# --- on the wire (see `tickhub.bus.codec`) --------------------------------------------------


def _write_values(_where: str, _name: str, values: dict[str, float | None]) -> dict[str, Any]:
    # An undefined value (NaN) travels as null, as the alert's JSON shows it.
    return {str(k): v if v is not None and math.isfinite(v) else None for k, v in values.items()}


def _read_values(f: Fields, name: str) -> dict[str, float | None]:
    raw = f.doc.get(name, {})
    if type(raw) is not dict:
        raise f.error(name, f"expected an object, got {describe(raw)}")
    values: dict[str, float | None] = {}
    for key, value in raw.items():
        if value is None or type(value) is float:
            values[key] = value
        elif type(value) is int:
            values[key] = float(value)
        else:
            raise f.error(name, f"{key!r}: expected a number or null, got {describe(value)}")
    return values


MESSAGES: tuple[MessageSpec, ...] = (
    message_spec(AlertRaised, "alert_raised", values=FieldCodec(_write_values, _read_values)),
)
"""How each alerts message travels on the bus; the composition root hands them to the bus's
`Codec`."""
