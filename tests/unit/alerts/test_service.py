"""The strategy and alert use cases on an in-memory unit of work: ownership, the
instruments and interval as stored, name conflicts, the alert history, and a commit
exactly when a write succeeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.fake_alerts import (
    FakeAlertsStore,
    FakeAlertsUow,
    StoredInstrument,
    alert_values,
)
from tickhub.alerts import service
from tickhub.alerts.schemas import StrategyIn, StrategyPatch
from tickhub.common.uow import ConstraintViolation

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
HOUR_US = 3_600_000_000
BINANCE_BTC = StoredInstrument("binance", "BTCUSDT", "BTC", "USDT")
KRAKEN_BTC = StoredInstrument("kraken", "XBT/USDT", "BTC", "USDT")
BINANCE_ETH = StoredInstrument("binance", "ETHUSDT", "ETH", "USDT")
WEBHOOK = {"type": "webhook", "url": "https://example.com/hook", "secret": "s" * 32}


@pytest.fixture
def uow() -> FakeAlertsUow:
    return FakeAlertsUow(BINANCE_BTC, KRAKEN_BTC, BINANCE_ETH)


def strategy(name: str = "breakout", **fields: object) -> StrategyIn:
    values: dict[str, object] = {
        "name": name,
        "instruments": ["binance:BTC-USDT"],
        "interval": "60m",
        "condition": "close > sma(close, 20)",
        "channels": [WEBHOOK],
    }
    return StrategyIn.model_validate({**values, **fields})


async def test_create_stores_the_canonical_instruments_and_interval(uow: FakeAlertsUow) -> None:
    view = await service.create_strategy(
        uow,
        user_id="ada",
        data=strategy(instruments=["binance:BTC-USDT", "ethusdt", "BINANCE:btcusdt"]),
        now=NOW,
    )
    record = view.record
    assert record.instruments == ["binance:BTCUSDT", "binance:ETHUSDT"]
    assert (record.interval, record.interval_s) == ("1h", 3600)
    assert view.canonical is not None
    assert uow.commits == 1


@pytest.mark.parametrize(
    ("instrument", "message"),
    [("binance:DOGEUSDT", "unknown instrument"), ("BTCUSDT", "several exchanges")],
)
async def test_an_instrument_that_does_not_resolve_stores_nothing(
    uow: FakeAlertsUow, instrument: str, message: str
) -> None:
    with pytest.raises(service.Invalid, match=message) as caught:
        await service.create_strategy(
            uow, user_id="ada", data=strategy(instruments=[instrument]), now=NOW
        )
    assert caught.value.field == "instruments.0"
    assert (uow.commits, uow.alerts.strategy_rows) == (0, {})


async def test_a_name_is_taken_per_user(uow: FakeAlertsUow) -> None:
    await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    with pytest.raises(service.Conflict) as caught:
        await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    assert caught.value.field == "name"
    await service.create_strategy(uow, user_id="bob", data=strategy(), now=NOW)
    assert uow.commits == 2


class RacingStore(FakeAlertsStore):
    """Another request stores the same name between the check and the insert."""

    async def strategy_named(self, user_id: str, name: str) -> int | None:
        return None

    async def add_strategy(self, values: dict[str, object]) -> int:
        raise ConstraintViolation("UNIQUE constraint failed: strategies.user_id, name")


async def test_a_concurrent_create_with_the_same_name_is_a_conflict() -> None:
    uow = FakeAlertsUow(BINANCE_BTC, store=RacingStore())
    with pytest.raises(service.Conflict, match="already have a strategy named"):
        await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    assert uow.commits == 0


async def test_another_users_strategy_is_not_found(uow: FakeAlertsUow) -> None:
    made = await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    strategy_id = made.record.id
    for attempt in (
        service.get_strategy(uow, user_id="bob", strategy_id=strategy_id),
        service.update_strategy(
            uow, user_id="bob", strategy_id=strategy_id, data=StrategyPatch(active=False)
        ),
        service.delete_strategy(uow, user_id="bob", strategy_id=strategy_id),
    ):
        with pytest.raises(service.NotFound) as caught:
            await attempt
        assert caught.value.field == "strategy_id"
    assert uow.commits == 1
    assert uow.alerts.strategy_rows[strategy_id].active
    assert await service.list_strategies(uow, user_id="bob", limit=10, offset=0) == ([], 0)


async def test_update_changes_what_was_sent_and_keeps_the_webhook_secret(
    uow: FakeAlertsUow,
) -> None:
    made = await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    await service.create_strategy(uow, user_id="ada", data=strategy("taken"), now=NOW)
    later = datetime(2026, 5, 5, tzinfo=UTC)
    patch = StrategyPatch.model_validate(
        {"interval": "240m", "channels": [{"type": "webhook", "url": WEBHOOK["url"]}]}
    )
    view = await service.update_strategy(
        uow, user_id="ada", strategy_id=made.record.id, data=patch, now=later
    )
    assert (view.record.interval, view.record.updated_at) == ("4h", later)
    assert view.record.channels == [WEBHOOK]  # the secret of the same URL is kept
    assert view.record.name == "breakout"
    assert uow.commits == 3
    with pytest.raises(service.Conflict):
        await service.update_strategy(
            uow, user_id="ada", strategy_id=made.record.id, data=StrategyPatch(name="taken")
        )
    with pytest.raises(service.Invalid) as caught:
        await service.update_strategy(
            uow,
            user_id="ada",
            strategy_id=made.record.id,
            data=StrategyPatch.model_validate(
                {"channels": [{"type": "webhook", "url": "https://example.com/new"}]}
            ),
        )
    assert caught.value.field == "channels.0.webhook.secret"
    assert uow.commits == 3


async def test_deleting_a_strategy_keeps_its_alerts(uow: FakeAlertsUow) -> None:
    made = await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    raised = uow.alerts.add_alert(**alert_values("ada", made.record, at=NOW, close_us=HOUR_US))
    await service.delete_strategy(uow, user_id="ada", strategy_id=made.record.id)
    assert uow.commits == 2
    record, deliveries = await service.get_alert(uow, user_id="ada", alert_id=raised.id)
    assert (record.strategy_id, record.strategy_name, deliveries) == (None, "breakout", [])


async def test_alerts_page_newest_first_and_filter_by_any_spelling(uow: FakeAlertsUow) -> None:
    made = await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    ids = [
        uow.alerts.add_alert(**alert_values("ada", made.record, at=NOW, close_us=n * HOUR_US)).id
        for n in range(1, 6)
    ]
    uow.alerts.add_alert(**alert_values("bob", made.record, at=NOW, close_us=HOUR_US))
    first = await service.list_alerts(uow, user_id="ada", symbol="btc-usdt", limit=2)
    assert [a.id for a in first.items] == ids[:-3:-1]
    assert first.next_cursor is not None
    rest = await service.list_alerts(uow, user_id="ada", cursor=first.next_cursor, limit=10)
    assert [a.id for a in rest.items] == ids[-3::-1]
    assert rest.next_cursor is None
    none = await service.list_alerts(uow, user_id="ada", symbol="ETHUSDT")
    assert none.items == []
    assert uow.commits == 1  # reads never commit


async def test_alert_reads_refuse_what_they_cannot_answer(uow: FakeAlertsUow) -> None:
    made = await service.create_strategy(uow, user_id="ada", data=strategy(), now=NOW)
    raised = uow.alerts.add_alert(**alert_values("ada", made.record, at=NOW, close_us=HOUR_US))
    with pytest.raises(service.NotFound):
        await service.get_alert(uow, user_id="bob", alert_id=raised.id)
    with pytest.raises(service.Invalid) as caught:
        await service.list_alerts(uow, user_id="ada", cursor="not-a-cursor")
    assert caught.value.field == "cursor"
    with pytest.raises(service.Invalid) as caught:
        await service.list_alerts(
            uow, user_id="ada", start="2026-05-04T12:00:00Z", end="2026-05-04T11:00:00Z"
        )
    assert caught.value.field == "end"
