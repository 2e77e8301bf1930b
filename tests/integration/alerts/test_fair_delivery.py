"""The delivery worker shares itself fairly: due deliveries are claimed user by user,
and a user past the hourly quota waits while the others are served."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.alerts.test_notifiers import NOW, seed
from tickhub.alerts.notifiers import OutboxUnitOfWork
from tickhub.alerts.repository import deliveries_t

LEASE = NOW + timedelta(minutes=1)


def hooks(n: int) -> list[dict[str, str]]:
    return [
        {"type": "webhook", "url": f"https://hooks.example.com/{k}", "secret": "s" * 16}
        for k in range(n)
    ]


async def claim(engine: AsyncEngine, limit: int, per_user_hour: int | None = None) -> list[int]:
    quota = {} if per_user_hour is None else {"per_user_hour": per_user_hour}
    async with OutboxUnitOfWork.factory(engine)() as tx:
        claimed = await tx.outbox.claim_due(
            now=NOW, lease_until=LEASE, limit=limit, max_attempts=5, **quota
        )
        await tx.commit()
    return [c.id for c in claimed]


async def test_one_users_backlog_does_not_push_another_user_back(engine: AsyncEngine) -> None:
    hog = await seed(engine, hooks(8), name="noisy")
    other = await seed(engine, hooks(1), name="quiet")
    first = await claim(engine, limit=3)
    assert other.deliveries[0] in first
    assert len(first) == 3
    rest = await claim(engine, limit=10)
    assert sorted(first + rest) == sorted(hog.deliveries + other.deliveries)


async def test_a_user_over_the_hourly_quota_waits_for_the_hour_to_move_on(
    engine: AsyncEngine,
) -> None:
    busy = await seed(engine, hooks(4), name="busy")
    other = await seed(engine, hooks(1), name="other")
    done = busy.deliveries[:2]
    async with engine.begin() as conn:
        await conn.execute(
            update(deliveries_t)
            .where(deliveries_t.c.id.in_(done))
            .values(status="sent", delivered_at=NOW - timedelta(minutes=10))
        )
    assert await claim(engine, limit=10, per_user_hour=2) == other.deliveries
    async with engine.begin() as conn:  # an hour later the quota has room again
        await conn.execute(
            update(deliveries_t)
            .where(deliveries_t.c.id.in_(done))
            .values(delivered_at=NOW - timedelta(minutes=61))
        )
    assert await claim(engine, limit=10, per_user_hour=2) == busy.deliveries[2:]
