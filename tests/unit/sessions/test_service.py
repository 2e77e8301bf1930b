"""The sessions use cases on an in-memory unit of work: ownership, derived figures,
conflicts, and a commit exactly when a write succeeds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.fixtures.fake_sessions import FakeSessionsStore, FakeSessionsUow
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.service import Principal
from tickhub.common.uow import ConstraintViolation
from tickhub.sessions import service
from tickhub.sessions.errors import Conflict, Invalid, NotFound
from tickhub.sessions.repository import ModelRecord
from tickhub.sessions.schemas import ModelIn, ModelPatch

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SESSION = {
    "session_name": "train-1",
    "type": "training",
    "crypto_type": "BTC",
    "starting_balance": "1000",
    "starting_coins": "0",
}


def principal(user_id: str, *, admin: bool = False) -> Principal:
    user = UserRecord(user_id, f"{user_id}@example.com", "x", "", "", True, admin, NOW, NOW)
    return Principal(user, via="token")


ADA, BOB, ADMIN = principal("ada"), principal("bob"), principal("root", admin=True)


@pytest.fixture
def uow() -> FakeSessionsUow:
    return FakeSessionsUow()


async def _session(uow: FakeSessionsUow, who: Principal = ADA, **fields: object) -> int:
    view = await service.create_session(uow, who, {**SESSION, **fields}, now=NOW)
    return view.record.id


async def test_create_session_commits_once_and_belongs_to_the_caller(
    uow: FakeSessionsUow,
) -> None:
    view = await service.create_session(uow, ADA, dict(SESSION), now=NOW)
    assert uow.commits == 1
    assert (view.record.owner_id, view.record.session_name) == ("ada", "train-1")
    assert view.record.session_start == NOW  # defaults to now
    assert (view.transaction_total, view.derived) == (0, None)


async def test_reads_never_commit(uow: FakeSessionsUow) -> None:
    session_id = await _session(uow)
    await service.get_session(uow, ADA, session_id)
    await service.list_sessions(uow, ADA, limit=10, offset=0)
    await service.list_transactions(uow, ADA, session_id, limit=10, offset=0)
    assert (uow.opened, uow.commits) == (4, 1)


async def test_another_users_session_is_not_found(uow: FakeSessionsUow) -> None:
    session_id = await _session(uow)
    for attempt in (
        service.get_session(uow, BOB, session_id),
        service.patch_session(uow, BOB, session_id, {"session_name": "mine"}),
        service.delete_session(uow, BOB, session_id),
        service.create_transaction(uow, BOB, session_id, {"type": "Sale", "amount": 1, "value": 1}),
        service.list_transactions(uow, BOB, session_id, limit=10, offset=0),
    ):
        with pytest.raises(NotFound) as caught:
            await attempt
        assert caught.value.field == "session_id"
    assert uow.commits == 1  # the create only
    assert (await service.get_session(uow, ADA, session_id)).record.session_name == "train-1"
    assert (await service.get_session(uow, ADMIN, session_id)).record.owner_id == "ada"


async def test_list_is_the_callers_page_and_everyones_for_an_admin(uow: FakeSessionsUow) -> None:
    mine = [await _session(uow) for _ in range(3)]
    await _session(uow, BOB)
    views, total = await service.list_sessions(uow, ADA, limit=2, offset=1)
    assert ([v.record.id for v in views], total) == (mine[1:], 3)
    _, everyone = await service.list_sessions(uow, ADMIN, limit=10, offset=0)
    assert everyone == 4


async def test_figures_derive_from_the_transactions(uow: FakeSessionsUow) -> None:
    session_id = await _session(uow)
    for body in (
        {"type": "purchase", "amount": "2", "value": "200", "step": 1},
        {"type": "Sale", "amount": "0.5", "value": "150", "step": 2},
    ):
        await service.create_transaction(uow, ADA, session_id, body, now=NOW)
    view = await service.get_session(uow, ADA, session_id)
    assert view.transaction_total == 2
    assert view.derived == service.Derived(
        coins_bought=Decimal(2),
        coins_sold=Decimal("0.5"),
        number_of_trades=2,
        ending_coins=Decimal("1.5"),
        ending_balance=Decimal(950),
        profit_loss=Decimal(-50),
    )
    assert view.figure("ending_balance") == Decimal(950)
    assert view.disagrees == []


async def test_a_set_figure_wins_but_is_reported_when_it_disagrees(uow: FakeSessionsUow) -> None:
    session_id = await _session(uow)
    await service.create_transaction(
        uow, ADA, session_id, {"type": "Purchase", "amount": "1", "value": "100"}, now=NOW
    )
    view = await service.patch_session(uow, ADA, session_id, {"ending_balance": "990"})
    assert view.figure("ending_balance") == Decimal(990)
    assert view.disagrees == ["ending_balance"]
    assert (await service.get_session(uow, ADA, session_id)).disagrees == ["ending_balance"]
    view = await service.patch_session(uow, ADA, session_id, {"ending_balance": None})
    assert view.figure("ending_balance") == Decimal(900)  # derived again
    assert view.disagrees == []


async def test_a_refused_patch_changes_nothing_and_commits_nothing(uow: FakeSessionsUow) -> None:
    session_id = await _session(uow, session_start="2026-03-02T09:00:00Z")
    with pytest.raises(Invalid) as caught:
        await service.patch_session(
            uow, ADA, session_id, {"session_name": "renamed", "session_end": "2026-03-01T00:00:00Z"}
        )
    assert caught.value.field == "session_end"
    assert uow.commits == 1
    assert (await service.get_session(uow, ADA, session_id)).record.session_name == "train-1"


async def test_transactions_of_another_session_are_not_found(uow: FakeSessionsUow) -> None:
    first, second = await _session(uow), await _session(uow)
    made = await service.create_transaction(
        uow, ADA, first, {"type": "Sale", "amount": "1", "value": "5"}, now=NOW
    )
    assert made.crypto_type == "BTC"  # the session's
    with pytest.raises(NotFound) as caught:
        await service.get_transaction(uow, ADA, second, made.id)
    assert caught.value.field == "transaction_id"
    with pytest.raises(NotFound):
        await service.delete_transaction(uow, ADA, second, made.id)
    with pytest.raises(NotFound):
        await service.patch_transaction(uow, ADA, second, made.id, {"step": 3})
    patched = await service.patch_transaction(uow, ADA, first, made.id, {"step": 3})
    assert patched.step == 3
    assert (await service.get_transaction(uow, ADA, first, made.id)).step == 3
    commits = uow.commits
    await service.delete_transaction(uow, ADA, first, made.id)
    assert uow.commits == commits + 1
    assert await service.list_transactions(uow, ADA, first, limit=10, offset=0) == ([], 0)


async def test_deleting_a_session_deletes_its_transactions(uow: FakeSessionsUow) -> None:
    session_id = await _session(uow)
    await service.create_transaction(
        uow, ADA, session_id, {"type": "Sale", "amount": "1", "value": "5"}, now=NOW
    )
    await service.delete_session(uow, ADA, session_id)
    assert uow.sessions.session_rows == {}
    assert uow.sessions.transaction_rows == {}


def _model(name: str = "lstm", version: str = "1") -> ModelIn:
    return ModelIn(name=name, version=version, parameters={"layers": 2}, metrics={"mae": 0.5})


async def test_a_session_may_name_only_a_model_its_owner_sees(uow: FakeSessionsUow) -> None:
    bobs = await service.create_model(uow, BOB, _model(), now=NOW)
    with pytest.raises(Invalid) as caught:
        await _session(uow, model_id=bobs.record.id)
    assert caught.value.field == "model_id"
    assert uow.sessions.session_rows == {}
    assert uow.commits == 1


async def test_a_taken_model_name_and_version_is_a_conflict(uow: FakeSessionsUow) -> None:
    await service.create_model(uow, ADA, _model(), now=NOW)
    with pytest.raises(Conflict) as caught:
        await service.create_model(uow, ADA, _model(), now=NOW)
    assert caught.value.field == "version"
    assert uow.commits == 1
    await service.create_model(uow, BOB, _model(), now=NOW)  # per owner
    await service.create_model(uow, ADA, _model(version="2"), now=NOW)
    assert uow.commits == 3


class RacingStore(FakeSessionsStore):
    """Another request stores the same model between the check and the insert."""

    async def model_by_name(self, owner: str, name: str, version: str) -> ModelRecord | None:
        return None

    async def add_model(self, values: dict[str, object]) -> int:
        raise ConstraintViolation("UNIQUE constraint failed: models")


async def test_a_concurrent_create_of_the_same_model_is_a_conflict() -> None:
    uow = FakeSessionsUow(RacingStore())
    with pytest.raises(Conflict, match="already exists"):
        await service.create_model(uow, ADA, _model(), now=NOW)
    assert (uow.commits, uow.sessions.model_rows) == (0, {})


async def test_deleting_a_model_unlinks_its_sessions(uow: FakeSessionsUow) -> None:
    model = await service.create_model(uow, ADA, _model(), now=NOW)
    session_id = await _session(uow, model_id=model.record.id, model_name="lstm v1")
    assert (await service.get_model(uow, ADA, model.record.id)).sessions == [session_id]
    await service.delete_model(uow, ADA, model.record.id)
    record, linked = await service.session_model(uow, ADA, session_id)
    assert (record.model_id, record.model_name, linked) == (None, "lstm v1", None)
    with pytest.raises(NotFound):
        await service.get_model(uow, ADA, model.record.id)


async def test_patching_a_model_refuses_null_parameters(uow: FakeSessionsUow) -> None:
    model = await service.create_model(uow, ADA, _model(), now=NOW)
    with pytest.raises(Invalid) as caught:
        await service.patch_model(uow, ADA, model.record.id, ModelPatch(parameters=None))
    assert caught.value.field == "parameters"
    patched = await service.patch_model(uow, ADA, model.record.id, ModelPatch(metrics={"mae": 1}))
    assert patched.record.metrics == {"mae": 1}
    assert uow.commits == 2
    with pytest.raises(NotFound):
        await service.patch_model(uow, BOB, model.record.id, ModelPatch(metrics={}))
