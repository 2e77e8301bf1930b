"""Market tables (seed 003): wallets, resources, sessions, bids and their payments, money
(transactions, balances, fees, transfers out), price weights, raw data, forecasts,
notifications and the clearing record.

The wallets and resources tables were created by the accounts migration (0002); they
belong to this context now. Money is `ExactDecimal` (never a float).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tickhub.db import Base, ExactDecimal, UtcDateTime

ID = String(36)
USER_FK = "users.id"


class UserWallet(Base):
    """Seed 003 `user_wallet_address`: one address per user, unique across users."""

    __tablename__ = "user_wallets"

    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)
    wallet_address: Mapped[str] = mapped_column(String(128), unique=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MarketWallet(Base):
    """Seed 003 `market_wallet_address`: the market's one address (the row with id 1)."""

    __tablename__ = "market_wallet"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wallet_address: Mapped[str] = mapped_column(String(128), unique=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Resource(Base):
    """Seed 003 `user_resources`: a user's bidding unit (e.g. a wind farm)."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("user_id", "name", "type"),
        CheckConstraint("type IN ('forecasts', 'measurements')", name="type"),
        CheckConstraint("NOT (type = 'forecasts' AND to_forecast)", name="to_forecast"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(12))
    to_forecast: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MarketSession(Base):
    """Seed 003 `market_session`: staged → open → closed → running → finished."""

    __tablename__ = "market_sessions"
    __table_args__ = (
        UniqueConstraint("session_number", "session_date"),
        CheckConstraint(
            "status IN ('staged', 'open', 'closed', 'running', 'finished')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_number: Mapped[int] = mapped_column(Integer)
    session_date: Mapped[dt.date] = mapped_column(Date)
    staged_ts: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    open_ts: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    close_ts: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    launch_ts: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    finish_ts: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    status: Mapped[str] = mapped_column(String(10), index=True)
    market_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    b_min: Mapped[Decimal] = mapped_column(ExactDecimal())
    b_max: Mapped[Decimal] = mapped_column(ExactDecimal())
    n_price_steps: Mapped[int] = mapped_column(Integer)
    delta: Mapped[float] = mapped_column(Float(precision=53))


class Bid(Base):
    """Seed 003 `market_session_bid`: one per (session, user, resource)."""

    __tablename__ = "market_bids"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", "resource_id"),
        CheckConstraint("gain_func IN ('mse', 'rmse', 'mae')", name="gain_func"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    max_payment: Mapped[Decimal] = mapped_column(ExactDecimal())
    bid_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    gain_func: Mapped[str] = mapped_column(String(8))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    has_forecasts: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class BidPayment(Base):
    """Seed 003 `market_session_bid_payment`: the payment reference of a bid (1:1)."""

    __tablename__ = "market_bid_payments"

    bid_id: Mapped[str] = mapped_column(
        ForeignKey("market_bids.id", ondelete="CASCADE"), primary_key=True
    )
    tangle_msg_id: Mapped[str] = mapped_column(String(256), unique=True)
    is_solid: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Transaction(Base):
    """Seed 003 `market_session_transactions`: one of each type per (session, user,
    resource); transfers out carry no session nor resource."""

    __tablename__ = "market_transactions"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", "resource_id", "type"),
        CheckConstraint(
            "type IN ('payment', 'revenue', 'transfer_in', 'transfer_out')", name="type"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), index=True, default=None
    )
    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    resource_id: Mapped[str | None] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), default=None
    )
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    type: Mapped[str] = mapped_column(String(12))
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Balance(Base):
    """Seed 003 `market_balance`: a user's money in the market, never negative."""

    __tablename__ = "market_balances"

    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(ExactDecimal())
    total_deposit: Mapped[Decimal] = mapped_column(ExactDecimal())
    total_withdraw: Mapped[Decimal] = mapped_column(ExactDecimal())
    total_payment: Mapped[Decimal] = mapped_column(ExactDecimal())
    total_revenue: Mapped[Decimal] = mapped_column(ExactDecimal())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SessionBalance(Base):
    """Seed 003 `market_session_balance`: per (session, user, resource)."""

    __tablename__ = "market_session_balances"
    __table_args__ = (UniqueConstraint("session_id", "user_id", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    session_balance: Mapped[Decimal] = mapped_column(ExactDecimal())
    session_deposit: Mapped[Decimal] = mapped_column(ExactDecimal())
    session_payment: Mapped[Decimal] = mapped_column(ExactDecimal())
    session_revenue: Mapped[Decimal] = mapped_column(ExactDecimal())
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SessionFee(Base):
    """Seed 003 `market_session_fee`: the market's take of one session."""

    __tablename__ = "market_session_fees"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PriceWeight(Base):
    """Seed 003 `market_session_weights_p`: the price-step weights a session ended with."""

    __tablename__ = "market_price_weights"
    __table_args__ = (UniqueConstraint("session_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    weights_p: Mapped[float] = mapped_column(Float(precision=53))


class TransferOut(Base):
    """Seed 003 `balance_transfer_out`: money sent from the market to a user's wallet."""

    __tablename__ = "market_transfers_out"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())
    user_wallet_address: Mapped[str] = mapped_column(String(128))
    tangle_msg_id: Mapped[str] = mapped_column(String(256))
    is_solid: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RawData(Base):
    """Seed 003 `raw_data`: measurements, one value per (user, resource, datetime)."""

    __tablename__ = "raw_data"

    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    datetime: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(12))
    value: Mapped[float] = mapped_column(Float(precision=53))
    units: Mapped[str] = mapped_column(String(2))
    time_interval: Mapped[int] = mapped_column(Integer)
    aggregation_type: Mapped[str] = mapped_column(String(3))
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Forecast(Base):
    """Seed 003 `market_forecasts`: one value per (user, resource, session, datetime)."""

    __tablename__ = "market_forecasts"

    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    datetime: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    request: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    value: Mapped[float] = mapped_column(Float(precision=53))
    units: Mapped[str] = mapped_column(String(2))
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Notification(Base):
    """Seed 003 `user_notification`; `key` makes a market event notify a user once."""

    __tablename__ = "market_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    notification_type: Mapped[str] = mapped_column(String(64))
    notification_title: Mapped[str] = mapped_column(String(255))
    notification_description: Mapped[str] = mapped_column(String(255))
    state: Mapped[bool] = mapped_column(Boolean, default=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class NotificationType(Base):
    """Seed 003 `users_usernotificationtype`: the kinds an admin adds (each notifies every
    user once); the market's own events are types by name, not rows here."""

    __tablename__ = "market_notification_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Clearing(Base):
    """A session's clearing: `running` while the engine works, `booked` once its money,
    forecasts and weights are stored (then the session is finished)."""

    __tablename__ = "market_clearings"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("market_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    booked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    next_session_id: Mapped[int | None] = mapped_column(Integer, default=None)
