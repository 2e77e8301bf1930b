"""Notification types an admin adds (seed 003's `notification_type` paths): adding one
notifies every market participant once under it; renaming renames their notifications'
type; deleting removes them (the seed's cascade). A name too like an existing one (a
difflib ratio of 0.7 or more, as the seed) is refused."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from tickhub.common.uow import ConstraintViolation
from tickhub.market.errors import Invalid
from tickhub.market.service._context import Market
from tickhub.market.service._notify import notify_all
from tickhub.market.uow import MarketUow

TYPE_NOT_FOUND = "UserNotificationType matching query does not exist"
SIMILAR = "Similar notification event already exists"
TAKEN = "user notification type with this name already exists."


@dataclass(frozen=True, slots=True)
class NotificationType:
    id: int
    name: str


async def notification_types(m: Market) -> list[NotificationType]:
    async with m.uow() as tx:
        return [NotificationType(i, n) for i, n in await tx.data.notification_types()]


async def _check_name(tx: MarketUow, name: str) -> None:
    """As the seed's serializer: a name taken, then one too like any existing (the type
    being renamed included, as the seed compares with them all)."""
    names = [n for _, n in await tx.data.notification_types()]
    if name in names:
        raise Invalid(TAKEN, field="name")
    if any(SequenceMatcher(None, n, name).ratio() >= 0.7 for n in names):
        raise Invalid(SIMILAR, field="name")


async def add_notification_type(m: Market, name: str) -> NotificationType:
    now = m.clock()
    try:
        async with m.uow() as tx:
            await _check_name(tx, name)
            type_id = await tx.data.add_notification_type(name)
            await notify_all(
                tx, kind=name, title="", description="", key=f"type:{type_id}", now=now
            )
            await tx.commit()
    except ConstraintViolation as exc:  # added concurrently
        raise Invalid(TAKEN, field="name") from exc
    return NotificationType(type_id, name)


async def _find(tx: MarketUow, type_id: int) -> NotificationType:
    for i, n in await tx.data.notification_types():
        if i == type_id:
            return NotificationType(i, n)
    raise Invalid(TYPE_NOT_FOUND, field="id", seed_data={"message": TYPE_NOT_FOUND})


async def rename_notification_type(m: Market, type_id: int, name: str) -> NotificationType:
    try:
        async with m.uow() as tx:
            found = await _find(tx, type_id)
            await _check_name(tx, name)
            await tx.data.rename_notification_type(type_id, found.name, name)
            await tx.commit()
    except ConstraintViolation as exc:
        raise Invalid(TAKEN, field="name") from exc
    return NotificationType(type_id, name)


async def delete_notification_type(m: Market, type_id: int) -> None:
    async with m.uow() as tx:
        found = await _find(tx, type_id)
        await tx.data.delete_notification_type(type_id, found.name)
        await tx.commit()


async def check_notification_type(m: Market, type_id: int) -> None:
    """Invalid (the seed's 400) when there is no such type."""
    async with m.uow() as tx:
        await _find(tx, type_id)
