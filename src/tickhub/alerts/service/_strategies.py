"""A user's strategies: create, list, read, change, delete. Another user's strategy is not
found (404), as if it did not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickhub.alerts import errors
from tickhub.alerts.channels import stored_channels
from tickhub.alerts.notifiers import AddressPolicy, ChannelKeys
from tickhub.alerts.repository import StrategyRecord
from tickhub.alerts.schemas import StrategyIn, StrategyPaperIn, StrategyPatch
from tickhub.alerts.service._conditions import (
    canonical,
    check_listing_fields,
    parse_condition,
    parse_interval,
    resolve_instruments,
)
from tickhub.alerts.uow import AlertsStore, AlertsUow, AlertsUowFactory
from tickhub.common.time import utc_now
from tickhub.common.uow import ConstraintViolation

Invalid = errors.Invalid
NotFound = errors.NotFound
Conflict = errors.Conflict

MAX_STRATEGIES = 1000  # per user
NO_STRATEGY = "no strategy with this id"


@dataclass(frozen=True, slots=True)
class StrategyView:
    record: StrategyRecord
    canonical: str | None


def _view(record: StrategyRecord) -> StrategyView:
    return StrategyView(record, canonical(record.condition))


async def _paper(tx: AlertsUow, user_id: str, paper: StrategyPaperIn | None) -> dict[str, Any]:
    """The stored paper-trading fields; the session must be the user's."""
    if paper is None:
        return {"paper_session_id": None, "paper_side": None, "paper_amount": None}
    if not await tx.paper.owns(user_id, paper.session_id):
        raise Invalid("no session of yours with this id", field="paper.session_id")
    return {
        "paper_session_id": paper.session_id,
        "paper_side": paper.side,
        "paper_amount": paper.amount,
    }


async def _owned(repo: AlertsStore, user_id: str, strategy_id: int) -> StrategyRecord:
    record = await repo.strategy(strategy_id, user_id)
    if record is None:
        raise NotFound(NO_STRATEGY, field="strategy_id")
    return record


def _name_taken(name: str) -> Conflict:
    return Conflict(f"you already have a strategy named {name!r}", field="name")


async def create_strategy(
    uow: AlertsUowFactory,
    *,
    user_id: str,
    data: StrategyIn,
    now: datetime | None = None,
    policy: AddressPolicy | None = None,
    keys: ChannelKeys | None = None,
) -> StrategyView:
    parse_condition(data.condition)
    interval, interval_s = parse_interval(data.interval)
    channels = stored_channels(data.channels, [], policy or AddressPolicy(), keys)
    moment = now or utc_now()
    try:
        async with uow() as tx:
            repo = tx.alerts
            paper = await _paper(tx, user_id, data.paper)
            if await repo.count_strategies(user_id) >= MAX_STRATEGIES:
                raise Conflict(f"at most {MAX_STRATEGIES} strategies per user: delete one first")
            if await repo.strategy_named(user_id, data.name) is not None:
                raise _name_taken(data.name)
            instruments = await resolve_instruments(tx.market, data.instruments)
            check_listing_fields(data.condition, instruments, "condition")
            strategy_id = await repo.add_strategy(
                {
                    "user_id": user_id,
                    "name": data.name,
                    "instruments": instruments,
                    "interval": interval,
                    "interval_s": interval_s,
                    "condition": data.condition,
                    "cooldown_s": data.cooldown_s,
                    "channels": channels,
                    "active": data.active,
                    "created_at": moment,
                    "updated_at": moment,
                    **paper,
                }
            )
            view = _view(await _owned(repo, user_id, strategy_id))
            await tx.commit()
            return view
    except ConstraintViolation as exc:  # a concurrent create with the same name
        raise _name_taken(data.name) from exc


async def list_strategies(
    uow: AlertsUowFactory, *, user_id: str, limit: int, offset: int
) -> tuple[list[StrategyView], int]:
    """A page of the caller's strategies, oldest first, and how many there are."""
    async with uow() as tx:
        repo = tx.alerts
        records = await repo.strategies(user_id, limit=limit, offset=offset)
        total = await repo.count_strategies(user_id)
    return [_view(r) for r in records], total


async def get_strategy(uow: AlertsUowFactory, *, user_id: str, strategy_id: int) -> StrategyView:
    async with uow() as tx:
        return _view(await _owned(tx.alerts, user_id, strategy_id))


async def update_strategy(
    uow: AlertsUowFactory,
    *,
    user_id: str,
    strategy_id: int,
    data: StrategyPatch,
    now: datetime | None = None,
    policy: AddressPolicy | None = None,
    keys: ChannelKeys | None = None,
) -> StrategyView:
    """Changes the fields sent, nothing else."""
    values: dict[str, Any] = {}
    sent = data.model_fields_set
    if data.condition is not None:
        parse_condition(data.condition)
        values["condition"] = data.condition
    if data.interval is not None:
        values["interval"], values["interval_s"] = parse_interval(data.interval)
    for name in ("name", "cooldown_s", "active"):
        if name in sent:
            values[name] = getattr(data, name)
    try:
        async with uow() as tx:
            repo = tx.alerts
            record = await _owned(repo, user_id, strategy_id)
            renamed = data.name is not None and data.name != record.name
            if renamed and await repo.strategy_named(user_id, data.name or "") is not None:
                raise _name_taken(data.name or "")
            if data.channels is not None:
                values["channels"] = stored_channels(
                    data.channels, record.channels, policy or AddressPolicy(), keys
                )
            if data.instruments is not None:
                values["instruments"] = await resolve_instruments(tx.market, data.instruments)
            if "condition" in values or "instruments" in values:
                check_listing_fields(
                    values.get("condition", record.condition),
                    values.get("instruments", record.instruments),
                    "condition" if "condition" in values else "instruments",
                )
            if "paper" in sent:
                values.update(await _paper(tx, user_id, data.paper))
            if values:
                values["updated_at"] = now or utc_now()
                await repo.update_strategy(strategy_id, values)
            view = _view(await _owned(repo, user_id, strategy_id))
            await tx.commit()
            return view
    except ConstraintViolation as exc:  # a concurrent change to the same name
        raise _name_taken(data.name or "") from exc


async def delete_strategy(uow: AlertsUowFactory, *, user_id: str, strategy_id: int) -> None:
    """Deletes the strategy; the alerts it raised stay in the history."""
    async with uow() as tx:
        repo = tx.alerts
        await _owned(repo, user_id, strategy_id)
        await repo.delete_strategy(strategy_id)
        await tx.commit()
