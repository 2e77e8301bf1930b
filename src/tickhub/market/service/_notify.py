"""Notifications of market events (seed 003 `user_notification`): bid confirmed, session
opened, forecasts ready, revenue booked. Each has a key, so a rerun notifies once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tickhub.market.errors import NotFound
from tickhub.market.repository import NotificationRecord
from tickhub.market.service._context import Caller, Market
from tickhub.market.uow import MarketUow

KINDS = ("bid_confirmed", "session_opened", "forecasts_ready", "revenue_booked")


async def notify(
    tx: MarketUow,
    users: Iterable[str],
    *,
    kind: str,
    title: str,
    description: str,
    key: str,
    now: datetime,
) -> None:
    await tx.data.notify(
        [
            {
                "user_id": user_id,
                "notification_type": kind,
                "notification_title": title[:255],
                "notification_description": description[:255],
                "state": True,
                "key": f"{key}:{user_id}"[:128],
                "created_at": now,
            }
            for user_id in dict.fromkeys(users)
        ]
    )


async def notify_all(
    tx: MarketUow, *, kind: str, title: str, description: str, key: str, now: datetime
) -> None:
    """Every market participant (every user with a market balance)."""
    users = [b.user_id for b in await tx.money.balances(None)]
    await notify(tx, users, kind=kind, title=title, description=description, key=key, now=now)


async def notifications(m: Market, caller: Caller) -> dict[str, list[NotificationRecord]]:
    """The caller's notifications grouped by type, as the seed lists them."""
    async with m.uow() as tx:
        found = await tx.data.notifications(caller.id)
    grouped: dict[str, list[NotificationRecord]] = {}
    for n in found:
        grouped.setdefault(n.notification_type, []).append(n)
    return grouped


NOT_FOUND = "UserNotification matching query not found"


async def set_notification_state(
    m: Market, caller: Caller, notification_id: int, state: bool
) -> NotificationRecord:
    """Mark one of the caller's notifications read (`state` false) or unread."""
    async with m.uow() as tx:
        if not await tx.data.set_notification_state(caller.id, notification_id, state):
            raise NotFound(NOT_FOUND, field="notification_id")
        (found,) = await tx.data.notifications(caller.id, notification_id)
        await tx.commit()
    return found


async def notification(m: Market, caller: Caller, notification_id: int) -> NotificationRecord:
    async with m.uow() as tx:
        found = await tx.data.notifications(caller.id, notification_id)
    if not found:
        raise NotFound(NOT_FOUND, field="notification_id")
    return found[0]
