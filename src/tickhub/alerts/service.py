"""Strategies and alert history, per user. Each use case is one unit of work
(`tickhub.alerts.uow`); errors are `AlertsError`s naming the field at fault, which the
router renders as problem+json.

A strategy belongs to the user who made it: another user's strategy or alert is not
found (404), as if it did not exist.

Instruments are checked against the stored instruments and kept as `exchange:SYMBOL`
in the exchange's spelling; the interval is kept as canonical text (`60m` → `1h`) and
seconds; the condition is parsed (never evaluated here) and kept as written.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickhub.alerts import errors, language
from tickhub.alerts.channels import stored_channels
from tickhub.alerts.notifiers import AddressPolicy, ChannelKeys
from tickhub.alerts.repository import (
    AlertFilter,
    AlertRecord,
    DeliveryRecord,
    StrategyRecord,
)
from tickhub.alerts.schemas import StrategyIn, StrategyPaperIn, StrategyPatch
from tickhub.alerts.uow import AlertsStore, AlertsUow, AlertsUowFactory, InstrumentSource
from tickhub.common.time import utc_now
from tickhub.common.uow import ConstraintViolation
from tickhub.marketdata import service as marketdata

# The context's errors, where callers have always caught them.
AlertsError = errors.AlertsError
Invalid = errors.Invalid
NotFound = errors.NotFound
Conflict = errors.Conflict

MAX_STRATEGIES = 1000  # per user
MIN_INTERVAL_S, MAX_INTERVAL_S = 60, 86_400
_US = 1_000_000
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60))


NO_STRATEGY = "no strategy with this id"
NO_ALERT = "no alert with this id"


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    condition: str
    canonical: str
    series: list[str]
    functions: list[str]
    lookback: int


def parse_condition(text: str) -> language.Condition:
    """The parsed condition, or `Invalid` on `condition` with the parser's position and
    reason. Nothing is evaluated."""
    try:
        return language.parse(text)
    except language.ConditionError as exc:
        raise Invalid(
            f"invalid condition at position {exc.position}: {exc.message}",
            field="condition",
            position=exc.position,
            reason=exc.message,
        ) from None


def check_listing_fields(condition: str, instruments: list[str], field: str) -> None:
    """A coin's listing fields (`market_cap`, …) apply to CoinMarketCap quotes only:
    `Invalid` on `field` when the condition reads one and an instrument is not one."""
    try:
        used = sorted(language.parse(condition).series & language.LISTING_SERIES)
    except language.ConditionError:
        return  # a stored condition that no longer parses: the scanner skips it
    if not used:
        return
    others = [i for i in instruments if i.partition(":")[0] != marketdata.CMC_EXCHANGE]
    if others:
        raise Invalid(
            f"'{used[0]}' is a CoinMarketCap listing field: it applies to "
            f"{marketdata.CMC_EXCHANGE}:SYMBOL instruments only, not {others[0]}",
            field=field,
        )


def _functions(node: language.Node) -> set[str]:
    if isinstance(node, language.Call):
        return {node.name}.union(*(_functions(a) for a in node.args))
    if isinstance(node, language.Unary):
        return _functions(node.operand)
    if isinstance(node, language.Binary):
        return _functions(node.left) | _functions(node.right)
    return set()


def check_condition(text: str) -> ConditionCheck:
    """Validate a condition without storing anything: its canonical form, the candle
    series and indicators it uses, and the candles it needs."""
    parsed = parse_condition(text)
    return ConditionCheck(
        condition=text,
        canonical=language.render(parsed.root),
        series=sorted(parsed.series),
        functions=sorted(_functions(parsed.root)),
        lookback=parsed.lookback,
    )


def canonical(condition: str) -> str | None:
    """A stored condition's canonical form; None if it no longer parses."""
    try:
        return language.render(language.parse(condition).root)
    except language.ConditionError:
        return None


# ---------------------------------------------------------------- intervals and instruments


def parse_interval(text: str) -> tuple[str, int]:
    """Canonical text and seconds: a whole number of minutes from 1m to 1d."""
    try:
        interval = marketdata.interval_or_error(text)
    except marketdata.MarketDataError as exc:
        raise Invalid(exc.message, field="interval") from None
    fixed = interval.fixed_us
    if (
        fixed is None
        or fixed % (60 * _US)
        or not MIN_INTERVAL_S * _US <= fixed <= MAX_INTERVAL_S * _US
    ):
        raise Invalid(
            f"interval {text.strip()!r} is not allowed: use a whole number of minutes "
            "from 1m to 1d (1m, 5m, 15m, 1h, 4h, 1d)",
            field="interval",
        )
    seconds = fixed // _US
    unit, size = next((u, s) for u, s in _UNITS if seconds % s == 0)
    return f"{seconds // size}{unit}", seconds


def _compact(symbol: str) -> str:
    return "".join(ch for ch in symbol.strip().upper() if ch.isalnum())


async def resolve_instruments(market: InstrumentSource, wanted: list[str]) -> list[str]:
    """`exchange:SYMBOL` keys of stored instruments in the exchange's spelling, in the
    order given, without repeats. A bare `SYMBOL` must be traded on one exchange only."""
    known = await market.instruments()
    out: list[str] = []
    for n, text in enumerate(wanted):
        field = f"instruments.{n}"
        exchange, sep, symbol = text.strip().rpartition(":")
        exchange = exchange.strip().lower()
        if (sep and not exchange) or not _compact(symbol):
            raise Invalid(
                f"invalid instrument {text!r}: use exchange:SYMBOL or SYMBOL", field=field
            )
        wanted_symbol = _compact(symbol)
        found = [
            i
            for i in known
            if (not sep or i.exchange.lower() == exchange)
            and wanted_symbol in {_compact(i.symbol), _compact(i.base + i.quote)}
        ]
        if not found:
            where = f" on exchange {exchange!r}" if sep else ""
            raise Invalid(f"unknown instrument {text!r}{where}", field=field)
        exchanges = sorted({i.exchange for i in found})
        if len(exchanges) > 1:
            raise Invalid(
                f"{text!r} is traded on several exchanges ({', '.join(exchanges)}): "
                "write exchange:SYMBOL",
                field=field,
            )
        key = f"{found[0].exchange}:{found[0].symbol}"
        if key not in out:
            out.append(key)
    return out


# ---------------------------------------------------------------- strategies


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


# ---------------------------------------------------------------- alerts


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
    wanted = _compact(symbol)
    if not wanted:
        raise Invalid("symbol must not be empty", field="symbol")
    spellings = {symbol.strip(), wanted}
    for i in await market.instruments():
        if wanted in {_compact(i.symbol), _compact(i.base + i.quote)}:
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
