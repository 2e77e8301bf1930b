"""The unit of work as a use case sees it: one transaction, durable at `commit()`.

    async with uow() as tx:
        ...                     # reads and writes through tx's repositories
        await tx.commit()       # leaving without it (or by an exception) rolls back

Each context extends `Uow` with its repositories (e.g. `SessionsUow.sessions`) and its
services receive a factory, `Callable[[], SessionsUow]`: the database one in production
(`tickhub.db.UnitOfWork` subclasses), an in-memory fake in the service tests.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class Uow(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class ConstraintViolation(Exception):
    """A write broke a uniqueness or integrity constraint of the store, typically because
    a concurrent request stored the same key first. The unit of work is rolled back; the
    service turns it into its own error (a conflict, a taken name)."""
