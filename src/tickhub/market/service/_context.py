"""What every market use case needs: its unit of work, settings, the payment verifier,
a clock, and where launched sessions are announced (the bus)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.common.time import utc_now
from tickhub.market.service._verifier import PaymentVerifier, verifier_for
from tickhub.market.uow import MarketUnitOfWork, MarketUowFactory
from tickhub.settings import MarketSettings

Clock = Callable[[], datetime]
Announce = Callable[[int, datetime], Awaitable[None]]
"""Called after a session moved to `running` is committed: hand it to the engine."""


class Caller(Protocol):
    """Who is calling (the accounts' principal satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def is_admin(self) -> bool: ...
    def scope(self, wanted: str | None = None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Market:
    uow: MarketUowFactory
    settings: MarketSettings
    verifier: PaymentVerifier
    clock: Clock = field(default=utc_now)
    announce: Announce | None = None


def build_market(
    settings: MarketSettings,
    engine: AsyncEngine,
    *,
    announce: Announce | None = None,
    verifier: PaymentVerifier | None = None,
    clock: Clock = utc_now,
) -> Market:
    return Market(
        uow=MarketUnitOfWork.factory(engine),
        settings=settings,
        verifier=verifier if verifier is not None else verifier_for(settings),
        clock=clock,
        announce=announce,
    )
