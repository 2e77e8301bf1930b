"""Sessions tables: trading sessions, their transactions, and model info.

Ids are integers (the seed's were int64 Datastore ids). Money and coin amounts are exact
decimals (`Numeric(38, 18)`, Python `Decimal`). Times are aware UTC datetimes.

The session figures `ending_balance`, `ending_coins`, `coins_sold`, `coins_bought` and
`number_of_trades` are stored only when a client sets them; NULL means "derive it from
the transactions" (see `tickhub.sessions.service`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tickhub.db import Base, ExactDecimal, UtcDateTime

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Amount = ExactDecimal()
OwnerId = String(36)

TRANSACTION_TYPES = ("Purchase", "Sale")


class Model(Base):
    """Model info (the seed's "TBD"): a trained model, its parameters and metrics, and
    the training data set label it learned from."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("owner_id", "name", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    dataset_label: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TradingSession(Base):
    """Seed 000 `Session`: one training or testing run of the bot."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    session_name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str | None] = mapped_column(String(255), default=None)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="SET NULL"), index=True, default=None
    )
    crypto_type: Mapped[str] = mapped_column(String(32))
    session_start: Mapped[datetime] = mapped_column(UtcDateTime)
    session_end: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    starting_balance: Mapped[Decimal] = mapped_column(Amount)
    starting_coins: Mapped[Decimal] = mapped_column(Amount)
    ending_balance: Mapped[Decimal | None] = mapped_column(Amount, default=None)
    ending_coins: Mapped[Decimal | None] = mapped_column(Amount, default=None)
    coins_sold: Mapped[Decimal | None] = mapped_column(Amount, default=None)
    coins_bought: Mapped[Decimal | None] = mapped_column(Amount, default=None)
    number_of_trades: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Transaction(Base):
    """Seed 000 `Transaction`: a purchase or sale made during a session."""

    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint("type IN ('Purchase', 'Sale')", name="type"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        Index("ix_transactions_session_order", "session_id", "step", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(8))
    crypto_type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Amount)
    value: Mapped[Decimal] = mapped_column(Amount)
    transaction_date_time: Mapped[datetime] = mapped_column(UtcDateTime)
    step: Mapped[int | None] = mapped_column(Integer, default=None)
