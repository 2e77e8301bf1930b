"""Raw measurements and market forecasts (seed 003 `data` app): bulk upserts on
(user, resource, datetime) and (user, resource, session, datetime); a user writes and reads
only their own resources' rows (admins read anyone's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from tickhub.common.uow import ConstraintViolation
from tickhub.market.errors import Conflict
from tickhub.market.repository import ForecastRecord, RawDataRecord, ResourceRecord
from tickhub.market.service._context import Caller, Market
from tickhub.market.service._external import changed_meanwhile, claim
from tickhub.market.uow import MarketUow


@dataclass(frozen=True, slots=True)
class Point:
    datetime: dt.datetime
    value: float


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    datetime: dt.datetime
    request: dt.datetime
    value: float


@dataclass(frozen=True, slots=True)
class RangeFilter:
    resource_id: str | None = None
    session_id: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    user_id: str | None = None  # admins only


def utc(value: dt.datetime) -> dt.datetime:
    """A naive time is UTC (the seed's clients send `...Z` or no zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _resource_named(tx: MarketUow, user_id: str, name: str) -> ResourceRecord | None:
    found = await tx.holdings.resources(user_id, name=name)
    measurements = [r for r in found if r.type == "measurements"]
    chosen = measurements or found
    return chosen[0] if chosen else None


@dataclass(frozen=True, slots=True)
class Written:
    """How many distinct times an upload wrote, and whether any was there already (the
    seed's answer says only that)."""

    count: int
    updated: bool

    @property
    def message(self) -> str:
        """The seed's: empty when every row was new."""
        return "One or more database records were updated." if self.updated else ""


async def upload_raw(
    m: Market,
    caller: Caller,
    *,
    resource_name: str,
    time_interval: int,
    aggregation_type: str,
    units: str,
    points: Sequence[Point],
) -> Written:
    """Upsert the caller's measurements of `resource_name` (a time sent twice keeps its
    last value)."""
    now = m.clock()
    by_time = {utc(p.datetime): p.value for p in points}
    async with m.uow() as tx:
        resource = await _resource_named(tx, caller.id, resource_name)
        if resource is None:
            raise Conflict(
                f"Resource ID '{resource_name}' is not registered for this user. "
                "You must register it first.",
                field="resource_name",
            )
        before = await tx.data.count_raw(caller.id, resource.id)
        await tx.data.upsert_raw(
            [
                {
                    "user_id": caller.id,
                    "resource_id": resource.id,
                    "datetime": when,
                    "resource_type": resource.type,
                    "value": value,
                    "units": units,
                    "time_interval": time_interval,
                    "aggregation_type": aggregation_type,
                    "registered_at": now,
                }
                for when, value in sorted(by_time.items())
            ]
        )
        after = await tx.data.count_raw(caller.id, resource.id)
        await tx.commit()
    return Written(len(by_time), after - before < len(by_time))


async def raw_data(m: Market, caller: Caller, f: RangeFilter) -> list[RawDataRecord]:
    async with m.uow() as tx:
        return await tx.data.raw(
            caller.scope(f.user_id), resource_id=f.resource_id, start=f.start, end=f.end
        )


async def forecasts(m: Market, caller: Caller, f: RangeFilter) -> list[ForecastRecord]:
    async with m.uow() as tx:
        return await tx.data.forecasts(
            caller.scope(f.user_id),
            resource_id=f.resource_id,
            session_id=f.session_id,
            start=f.start,
            end=f.end,
        )


async def post_forecasts(
    m: Market,
    *,
    user_id: str,
    resource_name: str,
    session_id: int,
    units: str,
    points: Sequence[ForecastPoint],
) -> Written:
    """Admins (or an external engine with an admin's key): store forecasts for a user's
    resource in a session. It claims the session for the external engine (409 when the
    built-in engine books it)."""
    now = m.clock()
    by_time = {utc(p.datetime): p for p in points}
    try:
        async with m.uow() as tx:
            resource = await _resource_named(tx, user_id, resource_name)
            if resource is None:
                raise Conflict(
                    f"Resource ID '{resource_name}' is not registered in the platform. "
                    "Resource owner must register it first.",
                    field="resource_name",
                )
            if await tx.sessions.session(session_id, lock=True) is None:
                raise Conflict(
                    f"Market session {session_id} does not exist.", field="market_session"
                )
            await claim(tx, session_id, now)
            before = await tx.data.count_forecasts(user_id, resource.id, session_id)
            await tx.data.upsert_forecasts(
                [
                    {
                        "user_id": user_id,
                        "resource_id": resource.id,
                        "session_id": session_id,
                        "datetime": when,
                        "request": utc(p.request),
                        "value": p.value,
                        "units": units,
                        "registered_at": now,
                    }
                    for when, p in sorted(by_time.items())
                ]
            )
            after = await tx.data.count_forecasts(user_id, resource.id, session_id)
            await tx.commit()
    except ConstraintViolation as exc:  # the built-in engine started it meanwhile
        raise changed_meanwhile(session_id) from exc
    return Written(len(by_time), after - before < len(by_time))
