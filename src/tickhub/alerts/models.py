"""Alerts tables: strategies, the scanner's marks, raised alerts and their deliveries.

Candle times are integer microseconds since the Unix epoch (UTC), as in market data;
record times are aware UTC datetimes (`UtcDateTime`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tickhub.db import Base, ExactDecimal, UtcDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Strategy(Base):
    """A user's condition over the candles of some instruments at one interval.

    `instruments` is a list of `exchange:SYMBOL` keys; `channels` a list of notification
    channel objects (`{"type": "webhook", "url", "secret"}`, `{"type": "telegram",
    "chat_id"}`, `{"type": "email", "to"}`).
    """

    __tablename__ = "strategies"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    instruments: Mapped[list[str]] = mapped_column(JSON)
    interval: Mapped[str] = mapped_column(String(16))  # canonical text: "1m", "15m", "4h"
    interval_s: Mapped[int] = mapped_column(Integer)  # a whole number of minutes
    condition: Mapped[str] = mapped_column(Text)  # as the user wrote it
    cooldown_s: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Paper trading: each alert books `paper_side` of `paper_amount` coins at the candle's
    # close into this seed-000 session of the user (all three set, or none).
    paper_session_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sessions.id", ondelete="SET NULL"), index=True, default=None
    )
    paper_side: Mapped[str | None] = mapped_column(String(8), default=None)
    paper_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal(), default=None)


class StrategyMark(Base):
    """How far the scanner has evaluated one strategy on one instrument.

    A candle closing at or before `evaluated_through` is never evaluated again for this
    strategy (restarts and several scanners included): a scanner claims candles by moving
    the mark forward in the same transaction that stores the alerts they raised.
    `last_alert_close` is the close time of the last alert, for the cooldown.
    """

    __tablename__ = "strategy_marks"

    strategy_id: Mapped[int] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True
    )
    exchange: Mapped[str] = mapped_column(String(64), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    evaluated_through: Mapped[int] = mapped_column(BigInteger)  # µs, a candle close time
    last_alert_close: Mapped[int | None] = mapped_column(BigInteger, default=None)


class AlertRow(Base):
    """A strategy's condition held on a closed candle; `values` are the series and
    indicator values that made it true (from `alerts.language.explain`)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("strategy_id", "exchange", "symbol", "candle_start"),
        Index("ix_alerts_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Kept when the strategy is deleted: the history stays the user's.
    strategy_id: Mapped[int | None] = mapped_column(
        ForeignKey("strategies.id", ondelete="SET NULL"), default=None
    )
    strategy_name: Mapped[str] = mapped_column(String(100))
    exchange: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    interval: Mapped[str] = mapped_column(String(16))
    candle_start: Mapped[int] = mapped_column(BigInteger)  # µs
    candle_close: Mapped[int] = mapped_column(BigInteger)  # µs, start + interval
    condition: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, float | None]] = mapped_column(JSON)
    close: Mapped[float] = mapped_column(Float(53))  # the candle's close price
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlertDelivery(Base):
    """One alert sent (or being sent) through one channel: an outbox row written with the
    alert, then updated by the notifier after each attempt."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_status", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | telegram | email
    target: Mapped[str] = mapped_column(String(512))  # URL, chat id or address; no secret
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class AlertTarget(Base):
    """An e-mail address or Telegram chat a user named as a channel, and whether the user
    proved it theirs: alerts go there only once `confirmed_at` is set (so the server is
    no relay for messages to strangers). The code sent there is kept only as a hash."""

    __tablename__ = "alert_targets"
    __table_args__ = (UniqueConstraint("user_id", "channel", "target"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | email
    target: Mapped[str] = mapped_column(String(512))
    code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    code_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
