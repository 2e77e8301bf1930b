"""A user's alert history: pages newest first behind an opaque cursor, and one alert with
its deliveries."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from tickhub.alerts import errors
from tickhub.alerts.repository import AlertFilter, AlertRecord, DeliveryRecord
from tickhub.alerts.service._conditions import compact
from tickhub.alerts.uow import AlertsUowFactory, InstrumentSource
from tickhub.marketdata import service as marketdata

Invalid = errors.Invalid
NotFound = errors.NotFound

NO_ALERT = "no alert with this id"


@dataclass(frozen=True, slots=True)
class AlertPageView:
    items: list[AlertRecord]
    next_cursor: str | None


def encode_cursor(alert_id: int) -> str:
    return base64.urlsafe_b64encode(f"alert:{alert_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    bad = Invalid(
        "invalid cursor: pass the next_cursor of a previous page unchanged", field="cursor"
    )
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        kind, _, number = raw.decode("ascii").partition(":")
    except (binascii.Error, ValueError):
        raise bad from None
    if kind != "alert" or not number.isdigit() or len(number) > 19:
        raise bad
    return int(number)


def _time(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return marketdata.parse_time(value, field)
    except marketdata.MarketDataError as exc:
        raise Invalid(exc.message, field=field) from None


async def _symbols(market: InstrumentSource, symbol: str) -> tuple[str, ...]:
    """Every stored spelling the symbol filter matches (`BTC-USDT` finds `BTCUSDT`)."""
    wanted = compact(symbol)
    if not wanted:
        raise Invalid("symbol must not be empty", field="symbol")
    spellings = {symbol.strip(), wanted}
    for i in await market.instruments():
        if wanted in {compact(i.symbol), compact(i.base + i.quote)}:
            spellings.add(i.symbol)
    return tuple(sorted(spellings))


async def list_alerts(
    uow: AlertsUowFactory,
    *,
    user_id: str,
    strategy_id: int | None = None,
    exchange: str | None = None,
    symbol: str | None = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AlertPageView:
    """The caller's alerts, newest first; `start`/`end` bound the candle close time
    (`start` inclusive, `end` exclusive). Follow `next_cursor` for older ones."""
    t0, t1 = _time(start, "start"), _time(end, "end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise Invalid("end must be after start", field="end")
    before = decode_cursor(cursor) if cursor else None
    async with uow() as tx:
        wanted = AlertFilter(
            strategy_id=strategy_id,
            exchange=exchange.strip() if exchange else None,
            symbols=await _symbols(tx.market, symbol) if symbol is not None else (),
            start=t0,
            end=t1,
        )
        rows = await tx.alerts.alerts(user_id, wanted, before_id=before, limit=limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    return AlertPageView(items, encode_cursor(items[-1].id) if more else None)


async def get_alert(
    uow: AlertsUowFactory, *, user_id: str, alert_id: int
) -> tuple[AlertRecord, list[DeliveryRecord]]:
    """One of the caller's alerts with its deliveries, oldest first."""
    async with uow() as tx:
        repo = tx.alerts
        record = await repo.alert(alert_id, user_id)
        if record is None:
            raise NotFound(NO_ALERT, field="alert_id")
        return record, await repo.deliveries(alert_id)
