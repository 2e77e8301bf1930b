"""Sessions use cases: trading sessions, their transactions, and model info. Each is one
unit of work (`tickhub.sessions.uow`), committed only by the writes; errors are
`tickhub.sessions.errors`.

Ownership: a session, its transactions and a model belong to the user (and the API key,
when one was used) that made them. Others get a 404, as if it did not exist; an admin
sees and changes everyone's.

Derived figures: `coins_bought`, `coins_sold`, `number_of_trades`, `ending_coins` and
`ending_balance` follow from the session's transactions unless the client set the field
(a stored value; PATCH it to null to go back to the derived one). When the session has
transactions, the answer also carries `derived`: the figures the transactions give
(plus `profit_loss` = derived ending balance - starting balance) and `disagrees`, the
fields whose client-set value differs from them. So a set value wins in the field, but
it never disagrees with the transactions silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tickhub.accounts.service import Principal
from tickhub.common.time import utc_now
from tickhub.common.uow import ConstraintViolation
from tickhub.sessions.errors import Conflict, Invalid, NotFound
from tickhub.sessions.paper import PaperLedger as PaperLedger
from tickhub.sessions.paper import PaperTrade as PaperTrade
from tickhub.sessions.paper import book_paper_session as book_paper_session
from tickhub.sessions.paper import check_paper_session as check_paper_session
from tickhub.sessions.paper import paper_ledger_on as paper_ledger_on
from tickhub.sessions.repository import (
    ModelRecord,
    SessionRecord,
    Totals,
)
from tickhub.sessions.repository import TransactionRecord as TransactionRecord
from tickhub.sessions.schemas import (
    SESSION_FIELDS,
    SESSION_REQUIRED,
    TRANSACTION_FIELDS,
    TRANSACTION_REQUIRED,
    ModelIn,
    ModelPatch,
    parse_fields,
)
from tickhub.sessions.uow import SessionsStore, SessionsUowFactory

NO_SESSION = "No session with that session_id was found."
NO_TRANSACTION = "Transaction not found with that transaction id and/or session id."
NO_MODEL = "No model with that id was found."
FIGURES = ("coins_bought", "coins_sold", "number_of_trades", "ending_coins", "ending_balance")


@dataclass(frozen=True, slots=True)
class Derived:
    coins_bought: Decimal
    coins_sold: Decimal
    number_of_trades: int
    ending_coins: Decimal
    ending_balance: Decimal
    profit_loss: Decimal


@dataclass(frozen=True, slots=True)
class SessionView:
    record: SessionRecord
    transaction_total: int
    derived: Derived | None  # None: no transactions yet

    def figure(self, name: str) -> Decimal | int | None:
        """The value shown in the field: the client's if set, else the derived one."""
        stored: Decimal | int | None = getattr(self.record, name)
        if stored is not None or self.derived is None:
            return stored
        value: Decimal | int = getattr(self.derived, name)
        return value

    @property
    def disagrees(self) -> list[str]:
        if self.derived is None:
            return []
        return [
            name
            for name in FIGURES
            if getattr(self.record, name) is not None
            and getattr(self.record, name) != getattr(self.derived, name)
        ]


def derive(record: SessionRecord, totals: Totals | None) -> Derived | None:
    if totals is None or totals.trades == 0:
        return None
    ending_balance = record.starting_balance - totals.spent + totals.earned
    return Derived(
        coins_bought=totals.bought,
        coins_sold=totals.sold,
        number_of_trades=totals.trades,
        ending_coins=record.starting_coins + totals.bought - totals.sold,
        ending_balance=ending_balance,
        profit_loss=ending_balance - record.starting_balance,
    )


async def _view(repo: SessionsStore, record: SessionRecord) -> SessionView:
    totals = (await repo.totals([record.id])).get(record.id)
    return SessionView(record, totals.trades if totals else 0, derive(record, totals))


async def _owned_session(
    repo: SessionsStore, principal: Principal, session_id: int
) -> SessionRecord:
    record = await repo.session(session_id, principal.scope())
    if record is None:
        raise NotFound(NO_SESSION, field="session_id")
    return record


async def _check_model(repo: SessionsStore, principal: Principal, model_id: int) -> None:
    """A session may name only a model its owner can see."""
    if await repo.model(model_id, principal.scope()) is None:
        raise Invalid(f"Invalid value for model_id: {NO_MODEL}", field="model_id")


def _check_period(start: datetime, end: datetime | None) -> None:
    if end is not None and end < start:
        raise Invalid("Invalid value for session_end: before session_start.", field="session_end")


# ---------------------------------------------------------------- sessions


async def create_session(
    uow: SessionsUowFactory, principal: Principal, body: object, *, now: datetime | None = None
) -> SessionView:
    values = parse_fields(body, SESSION_FIELDS, required=SESSION_REQUIRED)
    moment = now or utc_now()
    values.setdefault("session_start", moment.replace(microsecond=0))
    _check_period(values["session_start"], values.get("session_end"))
    async with uow() as tx:
        repo = tx.sessions
        if values.get("model_id") is not None:
            await _check_model(repo, principal, values["model_id"])
        values.update(owner_id=principal.id, api_key_id=principal.api_key_id, created_at=moment)
        session_id = await repo.add_session(values)
        record = await _owned_session(repo, principal, session_id)
        await tx.commit()
        return SessionView(record, 0, None)


async def get_session(
    uow: SessionsUowFactory, principal: Principal, session_id: int
) -> SessionView:
    async with uow() as tx:
        repo = tx.sessions
        return await _view(repo, await _owned_session(repo, principal, session_id))


async def list_sessions(
    uow: SessionsUowFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[SessionView], int]:
    """A page of the caller's sessions (everyone's for an admin), oldest first, and how
    many there are in all."""
    async with uow() as tx:
        repo = tx.sessions
        records = await repo.sessions(principal.scope(), limit=limit, offset=offset)
        total = await repo.count_sessions(principal.scope())
        totals = await repo.totals([r.id for r in records])
    views = [
        SessionView(r, totals[r.id].trades if r.id in totals else 0, derive(r, totals.get(r.id)))
        for r in records
    ]
    return views, total


async def patch_session(
    uow: SessionsUowFactory, principal: Principal, session_id: int, body: object
) -> SessionView:
    """Changes the editable fields in `body`, nothing else (`id` and `self` are ignored).
    A figure set to null goes back to being derived."""
    values = parse_fields(body, SESSION_FIELDS)
    async with uow() as tx:
        repo = tx.sessions
        record = await _owned_session(repo, principal, session_id)
        if values.get("model_id") is not None:
            await _check_model(repo, principal, values["model_id"])
        _check_period(
            values.get("session_start", record.session_start),
            values.get("session_end", record.session_end),
        )
        await repo.update_session(session_id, values)
        view = await _view(repo, await _owned_session(repo, principal, session_id))
        await tx.commit()
        return view


async def delete_session(uow: SessionsUowFactory, principal: Principal, session_id: int) -> None:
    """Deletes the session and all its transactions."""
    async with uow() as tx:
        repo = tx.sessions
        await _owned_session(repo, principal, session_id)
        await repo.delete_session(session_id)
        await tx.commit()


# ---------------------------------------------------------------- transactions


async def list_transactions(
    uow: SessionsUowFactory, principal: Principal, session_id: int, *, limit: int, offset: int
) -> tuple[list[TransactionRecord], int]:
    """A page of the session's transactions by step (then id), and how many it has."""
    async with uow() as tx:
        repo = tx.sessions
        await _owned_session(repo, principal, session_id)
        page = await repo.transactions(session_id, limit=limit, offset=offset)
        return page, await repo.count_transactions(session_id)


async def create_transaction(
    uow: SessionsUowFactory,
    principal: Principal,
    session_id: int,
    body: object,
    *,
    now: datetime | None = None,
) -> TransactionRecord:
    """`crypto_type` defaults to the session's, `transaction_date_time` to now."""
    values = parse_fields(body, TRANSACTION_FIELDS, required=TRANSACTION_REQUIRED)
    async with uow() as tx:
        repo = tx.sessions
        session = await _owned_session(repo, principal, session_id)
        values.setdefault("crypto_type", session.crypto_type)
        values.setdefault("transaction_date_time", now or utc_now())
        transaction_id = await repo.add_transaction({**values, "session_id": session_id})
        created = await repo.transaction(session_id, transaction_id)
        await tx.commit()
    assert created is not None
    return created


async def get_transaction(
    uow: SessionsUowFactory, principal: Principal, session_id: int, transaction_id: int
) -> TransactionRecord:
    async with uow() as tx:
        repo = tx.sessions
        await _owned_session(repo, principal, session_id)
        found = await repo.transaction(session_id, transaction_id)
    if found is None:
        raise NotFound(NO_TRANSACTION, field="transaction_id")
    return found


async def patch_transaction(
    uow: SessionsUowFactory,
    principal: Principal,
    session_id: int,
    transaction_id: int,
    body: object,
) -> TransactionRecord:
    values = parse_fields(body, TRANSACTION_FIELDS)
    async with uow() as tx:
        repo = tx.sessions
        await _owned_session(repo, principal, session_id)
        if await repo.transaction(session_id, transaction_id) is None:
            raise NotFound(NO_TRANSACTION, field="transaction_id")
        await repo.update_transaction(transaction_id, values)
        updated = await repo.transaction(session_id, transaction_id)
        await tx.commit()
    assert updated is not None
    return updated


async def delete_transaction(
    uow: SessionsUowFactory, principal: Principal, session_id: int, transaction_id: int
) -> None:
    async with uow() as tx:
        repo = tx.sessions
        await _owned_session(repo, principal, session_id)
        if await repo.transaction(session_id, transaction_id) is None:
            raise NotFound(NO_TRANSACTION, field="transaction_id")
        await repo.delete_transaction(transaction_id)
        await tx.commit()


# ---------------------------------------------------------------- model info


@dataclass(frozen=True, slots=True)
class ModelView:
    record: ModelRecord
    sessions: list[int]


async def _owned_model(repo: SessionsStore, principal: Principal, model_id: int) -> ModelView:
    record = await repo.model(model_id, principal.scope())
    if record is None:
        raise NotFound(NO_MODEL, field="model_id")
    return ModelView(record, await repo.sessions_of_model(model_id))


def _taken(data: ModelIn) -> Conflict:
    return Conflict(
        f"A model named {data.name!r} with version {data.version!r} already exists.",
        field="version",
    )


async def create_model(
    uow: SessionsUowFactory, principal: Principal, data: ModelIn, *, now: datetime | None = None
) -> ModelView:
    values: dict[str, Any] = data.model_dump()
    values.update(
        owner_id=principal.id, api_key_id=principal.api_key_id, created_at=now or utc_now()
    )
    try:
        async with uow() as tx:
            repo = tx.sessions
            if await repo.model_by_name(principal.id, data.name, data.version) is not None:
                raise _taken(data)
            model_id = await repo.add_model(values)
            view = await _owned_model(repo, principal, model_id)
            await tx.commit()
            return view
    except ConstraintViolation as exc:  # a concurrent create of the same name and version
        raise _taken(data) from exc


async def list_models(
    uow: SessionsUowFactory,
    principal: Principal,
    *,
    name: str | None,
    dataset_label: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ModelView], int]:
    async with uow() as tx:
        repo = tx.sessions
        records, total = await repo.models(
            principal.scope(), name=name, dataset_label=dataset_label, limit=limit, offset=offset
        )
        views = [ModelView(r, await repo.sessions_of_model(r.id)) for r in records]
    return views, total


async def get_model(uow: SessionsUowFactory, principal: Principal, model_id: int) -> ModelView:
    async with uow() as tx:
        return await _owned_model(tx.sessions, principal, model_id)


async def patch_model(
    uow: SessionsUowFactory, principal: Principal, model_id: int, data: ModelPatch
) -> ModelView:
    values = data.model_dump(exclude_unset=True)
    for key in ("parameters", "metrics"):
        if key in values and values[key] is None:
            raise Invalid(f"Invalid value for {key}: may not be null.", field=key)
    async with uow() as tx:
        repo = tx.sessions
        await _owned_model(repo, principal, model_id)
        await repo.update_model(model_id, values)
        view = await _owned_model(repo, principal, model_id)
        await tx.commit()
        return view


async def delete_model(uow: SessionsUowFactory, principal: Principal, model_id: int) -> None:
    """The sessions that used it keep their `model_name` and lose the link."""
    async with uow() as tx:
        repo = tx.sessions
        await _owned_model(repo, principal, model_id)
        await repo.delete_model(model_id)
        await tx.commit()


async def session_model(
    uow: SessionsUowFactory, principal: Principal, session_id: int
) -> tuple[SessionRecord, ModelView | None]:
    """Which model ran the session (the linked record, if any) and on which data."""
    async with uow() as tx:
        repo = tx.sessions
        record = await _owned_session(repo, principal, session_id)
        if record.model_id is None:
            return record, None
        found = await repo.model(record.model_id, None)
        model = ModelView(found, await repo.sessions_of_model(found.id)) if found else None
    return record, model
