"""The unit of work: writes are durable at commit, and only then."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.common.uow import ConstraintViolation
from tickhub.db import UnitOfWork


async def _names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT name FROM exchanges ORDER BY name"))
        return [r[0] for r in rows]


async def _add(tx: UnitOfWork, name: str) -> None:
    await tx.conn.execute(
        text("INSERT INTO exchanges (name, simulated) VALUES (:n, false)"), {"n": name}
    )


async def test_commit_makes_writes_durable(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as tx:
        await _add(tx, "committed")
        await tx.commit()
    assert await _names(engine) == ["committed"]


async def test_leaving_without_commit_rolls_back(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as tx:
        await _add(tx, "forgotten")
    assert await _names(engine) == []


async def test_an_exception_rolls_back(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with UnitOfWork(engine) as tx:
            await _add(tx, "failed")
            raise RuntimeError("boom")
    assert await _names(engine) == []


async def test_writes_after_a_commit_need_their_own_commit(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as tx:
        await _add(tx, "first")
        await tx.commit()
        await _add(tx, "second")
    assert await _names(engine) == ["first"]


async def test_explicit_rollback_discards(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as tx:
        await _add(tx, "discarded")
        await tx.rollback()
        await _add(tx, "kept")
        await tx.commit()
    assert await _names(engine) == ["kept"]


async def test_outside_the_block_there_is_no_connection(engine: AsyncEngine) -> None:
    tx = UnitOfWork(engine)
    with pytest.raises(RuntimeError, match="not open"):
        _ = tx.conn
    async with tx:
        pass
    with pytest.raises(RuntimeError, match="not open"):
        _ = tx.conn


async def test_a_broken_constraint_leaves_as_constraint_violation(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as tx:
        await _add(tx, "taken")
        await tx.commit()
    with pytest.raises(ConstraintViolation):
        async with UnitOfWork(engine) as tx:
            await _add(tx, "new")
            await _add(tx, "taken")
            await tx.commit()
    assert await _names(engine) == ["taken"]


async def test_factory_makes_a_new_unit_of_work_per_call(engine: AsyncEngine) -> None:
    make = UnitOfWork.factory(engine)
    first, second = make(), make()
    assert first is not second
    async with first as tx:
        await _add(tx, "made")
        await tx.commit()
    assert await _names(engine) == ["made"]
