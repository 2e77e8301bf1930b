"""Conditions, intervals and instruments as a strategy states them: parsed and checked,
never evaluated here."""

from __future__ import annotations

from dataclasses import dataclass

from tickhub.alerts import errors, language
from tickhub.alerts.uow import InstrumentSource
from tickhub.marketdata import service as marketdata

Invalid = errors.Invalid

MIN_INTERVAL_S, MAX_INTERVAL_S = 60, 86_400
_US = 1_000_000
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60))


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


def compact(symbol: str) -> str:
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
        if (sep and not exchange) or not compact(symbol):
            raise Invalid(
                f"invalid instrument {text!r}: use exchange:SYMBOL or SYMBOL", field=field
            )
        wanted_symbol = compact(symbol)
        found = [
            i
            for i in known
            if (not sep or i.exchange.lower() == exchange)
            and wanted_symbol in {compact(i.symbol), compact(i.base + i.quote)}
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
