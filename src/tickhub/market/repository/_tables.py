"""The market tables as SQLAlchemy Core tables, and the ownership filter."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, Table

from tickhub.market import models as m

wallets_t = cast(Table, m.UserWallet.__table__)
market_wallet_t = cast(Table, m.MarketWallet.__table__)
resources_t = cast(Table, m.Resource.__table__)
sessions_t = cast(Table, m.MarketSession.__table__)
bids_t = cast(Table, m.Bid.__table__)
payments_t = cast(Table, m.BidPayment.__table__)
transactions_t = cast(Table, m.Transaction.__table__)
balances_t = cast(Table, m.Balance.__table__)
session_balances_t = cast(Table, m.SessionBalance.__table__)
fees_t = cast(Table, m.SessionFee.__table__)
weights_t = cast(Table, m.PriceWeight.__table__)
transfers_t = cast(Table, m.TransferOut.__table__)
raw_t = cast(Table, m.RawData.__table__)
forecasts_t = cast(Table, m.Forecast.__table__)
notifications_t = cast(Table, m.Notification.__table__)
notification_types_t = cast(Table, m.NotificationType.__table__)
clearings_t = cast(Table, m.Clearing.__table__)

MARKET_WALLET_ID = 1


def owned(stmt: Select[Any], table: Table, user_id: str | None) -> Select[Any]:
    """Filter on the owner; None means any owner (admins only)."""
    return stmt if user_id is None else stmt.where(table.c.user_id == user_id)
