"""Market queries (SQLAlchemy Core), one repository per concept. Never commits: the
service owns the transaction. Methods taking `user_id` filter on it, so another user's
object is simply not found; `None` means any user (admins only)."""

from tickhub.market.repository._data import DataRepository
from tickhub.market.repository._holdings import HoldingsRepository
from tickhub.market.repository._money import MoneyRepository
from tickhub.market.repository._records import (
    BalanceRecord,
    BidRecord,
    ClearingRecord,
    FeeRecord,
    ForecastRecord,
    MarketWalletRecord,
    MeasurementRow,
    NotificationRecord,
    PaymentRecord,
    RawDataRecord,
    ResourceRecord,
    SessionBalanceRecord,
    SessionRecord,
    TransactionRecord,
    TransferOutRecord,
    WalletRecord,
    WeightRecord,
)
from tickhub.market.repository._sessions import SessionsRepository

__all__ = [
    "BalanceRecord",
    "BidRecord",
    "ClearingRecord",
    "DataRepository",
    "FeeRecord",
    "ForecastRecord",
    "HoldingsRepository",
    "MarketWalletRecord",
    "MeasurementRow",
    "MoneyRepository",
    "NotificationRecord",
    "PaymentRecord",
    "RawDataRecord",
    "ResourceRecord",
    "SessionBalanceRecord",
    "SessionRecord",
    "SessionsRepository",
    "TransactionRecord",
    "TransferOutRecord",
    "WalletRecord",
    "WeightRecord",
]
