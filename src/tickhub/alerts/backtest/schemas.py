"""`POST /v1/strategies/backtest`: the request and the answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from tickhub.alerts.schemas import (
    MAX_COOLDOWN_S,
    MIN_COOLDOWN_S,
    ConditionText,
    InstrumentOut,
    Instruments,
    IntervalText,
    _In,
)
from tickhub.common.schemas import Schema, UtcTime

DEFAULT_HORIZONS = (1, 5, 15, 60)
MAX_HORIZON = 10_000
MAX_HORIZONS = 20
TimeText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        examples=["2026-11-01T00:00:00Z"],
        description="ISO-8601 (no offset means UTC) or epoch milliseconds",
    ),
]
Horizon = Annotated[int, Field(ge=1, le=MAX_HORIZON)]


class PaperOrder(_In):
    """What each alert trades: a purchase or sale of `amount` coins at the candle's close."""

    side: Literal["Purchase", "Sale"]
    amount: Decimal = Field(gt=0, le=Decimal("1e12"), examples=["0.01"])


class PaperIn(PaperOrder):
    """A new seed-000 session that books each alert of the backtest as a transaction."""

    session_name: str | None = Field(default=None, min_length=1, max_length=255)
    starting_balance: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("1e15"))
    starting_coins: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("1e15"))


class BacktestIn(_In):
    """Either a condition (`instruments`, `interval`, `condition`, `cooldown_s`) or a
    stored strategy (`strategy_id`), over the candles from `start` to `end`."""

    strategy_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    instruments: Instruments | None = None
    interval: IntervalText | None = None
    condition: ConditionText | None = None
    cooldown_s: int | None = Field(
        default=None,
        ge=0,
        le=MAX_COOLDOWN_S,
        description=f"Seconds after an alert before the next one (default {MIN_COOLDOWN_S}, "
        "as for a strategy; a stored strategy's own)",
    )
    start: TimeText
    end: TimeText
    horizons: list[Horizon] = Field(
        default_factory=lambda: list(DEFAULT_HORIZONS),
        min_length=1,
        max_length=MAX_HORIZONS,
        description="Forward-return horizons, in candles",
    )
    paper: PaperIn | None = Field(
        default=None, description="Book each alert into a new paper-trading session"
    )

    @model_validator(mode="after")
    def _one_source(self) -> BacktestIn:
        given = [n for n in ("instruments", "interval", "condition") if getattr(self, n)]
        if self.strategy_id is not None:
            extra = given + (["cooldown_s"] if self.cooldown_s is not None else [])
            if extra:
                raise ValueError(
                    f"give either strategy_id or a condition, not both ({', '.join(extra)})"
                )
        else:
            missing = [n for n in ("instruments", "interval", "condition") if n not in given]
            if missing:
                raise ValueError(
                    f"missing {', '.join(missing)}: give instruments, interval and "
                    "condition, or a strategy_id"
                )
        return self


class BacktestAlertOut(Schema):
    instrument: InstrumentOut
    interval: str
    candle_start: UtcTime
    candle_close: UtcTime
    condition: str
    values: dict[str, float | None]
    close: float = Field(description="The candle's close price")
    forward_returns: dict[str, float | None] = Field(
        description="Per horizon h (candles, as text): close[t+h] / close[t] - 1; null "
        "when the candle h intervals later is not stored (past the data, or no trade)",
        examples=[{"1": 0.0012, "5": -0.003, "15": None, "60": None}],
    )


class HorizonOut(Schema):
    count: int = Field(description="Alerts with a return at this horizon")
    mean: float | None
    median: float | None
    positive_share: float | None = Field(description="Share of those returns above zero")


class SummaryOut(Schema):
    count: int = Field(description="Alerts")
    horizons: dict[str, HorizonOut]


class HoleOut(Schema):
    start: UtcTime
    end: UtcTime


class CoverageOut(Schema):
    instrument: InstrumentOut
    candles: int = Field(description="Candles stored in the window")
    expected_candles: int = Field(description="Intervals in the window")
    complete: bool = Field(description="The trades of the whole window are on record")
    holes: list[HoleOut] = Field(
        description="Parts of the window without a complete record of trades"
    )


class PaperOut(Schema):
    session_id: int
    transactions: int


class BacktestOut(Schema):
    strategy_id: int | None
    instruments: list[str]
    interval: str
    condition: str
    cooldown_s: int
    start: UtcTime = Field(description="The first decided candle starts at or after this")
    end: UtcTime = Field(description="The last decided candle closes at or before this")
    horizons: list[int]
    alerts: list[BacktestAlertOut]
    summary: SummaryOut
    coverage: list[CoverageOut]
    paper: PaperOut | None
