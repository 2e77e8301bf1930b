"""`/v1` market-data resources and live-stream messages.

Times are ISO-8601 in UTC with a `Z` and always six fractional digits
(`2026-11-23T15:34:07.123456Z`); internally they are integer microseconds (see
`events.py`), converted exactly, without going through a float.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tickhub.common.schemas import Schema, UtcTime
from tickhub.common.time import from_us
from tickhub.marketdata.events import CandleUpdate, SourceState, SourceStatus, Trade

if TYPE_CHECKING:
    from tickhub.marketdata.service import Snapshot, Statistics, TradePage
    from tickhub.marketdata.store.candles import Candle
    from tickhub.marketdata.store.coverage import Gap, Range
    from tickhub.marketdata.store.repository import InstrumentInfo, Latest
    from tickhub.marketdata.venues import VenueInfo


class Problem(Schema):
    """An error (RFC 9457, served as `application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="The parameter at fault")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Each invalid parameter (validation errors)"
    )


ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "A parameter is invalid (`field` names it)"},
    404: {"model": Problem, "description": "Unknown exchange or instrument"},
    422: {"model": Problem, "description": "A parameter is missing or of the wrong type"},
}


class InstrumentOut(Schema):
    exchange: str = Field(examples=["binance"])
    symbol: str = Field(description="The exchange's own symbol", examples=["BTCUSDT"])
    base: str = Field(examples=["BTC"])
    quote: str = Field(examples=["USDT"])
    simulated: bool

    @classmethod
    def of(cls, i: InstrumentInfo) -> InstrumentOut:
        return cls(
            exchange=i.exchange, symbol=i.symbol, base=i.base, quote=i.quote, simulated=i.simulated
        )


class PriceOut(Schema):
    """The latest trade of an instrument."""

    exchange: str
    symbol: str
    price: float
    qty: float
    trade_id: int
    time: UtcTime
    simulated: bool

    @classmethod
    def of(cls, p: Latest) -> PriceOut:
        i = p.instrument
        return cls(
            exchange=i.exchange,
            symbol=i.symbol,
            price=p.price,
            qty=p.qty,
            trade_id=p.trade_id,
            time=from_us(p.ts),
            simulated=i.simulated,
        )


class SnapshotItem(Schema):
    """One instrument: its latest trade and its last 24 hours (null when no trade)."""

    exchange: str
    symbol: str
    base: str
    quote: str
    simulated: bool
    price: float | None
    qty: float | None
    trade_id: int | None
    time: UtcTime | None = Field(description="Time of the latest trade")
    open_24h: float | None
    high_24h: float | None
    low_24h: float | None
    close_24h: float | None
    change_24h: float | None = Field(description="close_24h - open_24h")
    change_pct_24h: float | None = Field(description="change_24h / open_24h × 100")
    volume_24h: float = Field(description="Base-asset volume")
    quote_volume_24h: float
    trade_count_24h: int


class SnapshotOut(Schema):
    """All instruments at once; the 24 hours are [window_start, window_end)."""

    generated_at: UtcTime
    window_start: UtcTime
    window_end: UtcTime
    items: list[SnapshotItem]

    @classmethod
    def of(cls, s: Snapshot) -> SnapshotOut:
        items = []
        for e in s.entries:
            i, p, d = e.instrument, e.latest, e.day
            change = d.close - d.open if d else None
            items.append(
                SnapshotItem(
                    exchange=i.exchange,
                    symbol=i.symbol,
                    base=i.base,
                    quote=i.quote,
                    simulated=i.simulated,
                    price=p.price if p else None,
                    qty=p.qty if p else None,
                    trade_id=p.trade_id if p else None,
                    time=from_us(p.ts) if p else None,
                    open_24h=d.open if d else None,
                    high_24h=d.high if d else None,
                    low_24h=d.low if d else None,
                    close_24h=d.close if d else None,
                    change_24h=change,
                    change_pct_24h=(
                        change / d.open * 100 if d and change is not None and d.open else None
                    ),
                    volume_24h=d.volume if d else 0.0,
                    quote_volume_24h=d.quote_volume if d else 0.0,
                    trade_count_24h=d.trade_count if d else 0,
                )
            )
        return cls(
            generated_at=from_us(s.generated_at),
            window_start=from_us(s.start),
            window_end=from_us(s.end),
            items=items,
        )


class TradeOut(Schema):
    trade_id: int
    time: UtcTime
    price: float
    qty: float
    is_buyer_maker: bool | None

    @classmethod
    def of(cls, t: Trade) -> TradeOut:
        return cls(
            trade_id=t.trade_id,
            time=from_us(t.ts),
            price=t.price,
            qty=t.qty,
            is_buyer_maker=t.is_buyer_maker,
        )


class TradePageOut(Schema):
    """One page of trades, oldest first."""

    exchange: str
    symbol: str
    items: list[TradeOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )

    @classmethod
    def of(cls, inst: InstrumentInfo, page: TradePage) -> TradePageOut:
        return cls(
            exchange=inst.exchange,
            symbol=inst.symbol,
            items=[TradeOut.of(t) for t in page.items],
            next_cursor=page.next_cursor,
        )


class CandleOut(Schema):
    time: UtcTime = Field(description="Start of the bucket")
    open: float
    high: float
    low: float
    close: float
    volume: float = Field(description="Base-asset volume")
    quote_volume: float
    trade_count: int
    vwap: float | None = Field(description="quote_volume / volume")

    @classmethod
    def of(cls, c: Candle) -> CandleOut:
        return cls(
            time=from_us(c.start),
            open=c.open,
            high=c.high,
            low=c.low,
            close=c.close,
            volume=c.volume,
            quote_volume=c.quote_volume,
            trade_count=c.trade_count,
            vwap=c.vwap,
        )

    @classmethod
    def of_update(cls, u: CandleUpdate) -> CandleOut:
        return cls(
            time=from_us(u.start),
            open=u.open,
            high=u.high,
            low=u.low,
            close=u.close,
            volume=u.volume,
            quote_volume=u.quote_volume,
            trade_count=u.trade_count,
            vwap=u.quote_volume / u.volume if u.volume else None,
        )


class StatisticsOut(Schema):
    """Statistics of the trades with start <= time < end (`std` is the population one)."""

    exchange: str
    symbol: str
    start: UtcTime
    end: UtcTime
    count: int
    open: float | None
    close: float | None
    high: float | None
    low: float | None
    mean: float | None
    median: float | None
    std: float | None
    vwap: float | None
    volume: float
    quote_volume: float
    change_pct: float | None
    median_error: float | None = Field(
        description="The largest possible distance of `median` from the exact median: 0 "
        "when it was computed from the trades (windows of up to 10,000 trades), else "
        "half the width of the bounds the rollups give it"
    )

    @classmethod
    def of(cls, inst: InstrumentInfo, start: int, end: int, s: Statistics) -> StatisticsOut:
        return cls(
            exchange=inst.exchange,
            symbol=inst.symbol,
            start=from_us(start),
            end=from_us(end),
            count=s.count,
            open=s.open,
            close=s.close,
            high=s.high,
            low=s.low,
            mean=s.mean,
            median=s.median,
            std=s.std,
            vwap=s.vwap,
            volume=s.volume,
            quote_volume=s.quote_volume,
            change_pct=s.change_pct,
            median_error=s.median_error,
        )


class CoverageRangeOut(Schema):
    """Trade ids first_id..last_id, all processed; start/end are their first and last times."""

    first_id: int
    last_id: int
    start: UtcTime
    end: UtcTime


class CoverageGapOut(Schema):
    """Trade ids first_id..last_id are missing, between the trades at `after` and `before`."""

    first_id: int
    last_id: int
    missing: int
    after: UtcTime
    before: UtcTime


class CoverageOut(Schema):
    exchange: str
    symbol: str
    ranges: list[CoverageRangeOut]
    gaps: list[CoverageGapOut]
    complete: bool = Field(
        description="No id is missing between the first and the last trade; only ever true "
        "where the venue's ids are consecutive (`completeness: ids`)"
    )
    completeness: Literal["ids", "time", "simulated", "unknown"] = Field(
        description="What the venue lets tickhub know about missing trades (see `note`)"
    )
    note: str

    @classmethod
    def of(
        cls, inst: InstrumentInfo, ranges: list[Range], gaps: list[Gap], venue: VenueInfo
    ) -> CoverageOut:
        return cls(
            exchange=inst.exchange,
            symbol=inst.symbol,
            ranges=[
                CoverageRangeOut(
                    first_id=r.first_id,
                    last_id=r.last_id,
                    start=from_us(r.first_ts),
                    end=from_us(r.last_ts),
                )
                for r in ranges
            ],
            gaps=[
                CoverageGapOut(
                    first_id=g.first_id,
                    last_id=g.last_id,
                    missing=g.missing,
                    after=from_us(g.after_ts),
                    before=from_us(g.before_ts),
                )
                for g in gaps
            ],
            complete=not gaps and venue.completeness in ("ids", "simulated"),
            completeness=venue.completeness,
            note=venue.note,
        )


SIMULATED_SOURCES = frozenset({"sim"})


class SourceStatusOut(Schema):
    source: str = Field(examples=["binance"])
    state: SourceState
    detail: str
    last_trade_time: UtcTime | None
    updated_at: UtcTime
    simulated: bool = Field(description="True when the source feeds the simulated market")

    @classmethod
    def of(cls, s: SourceStatus) -> SourceStatusOut:
        return cls(
            source=s.source,
            state=s.state,
            detail=s.detail,
            last_trade_time=None if s.last_trade_ts is None else from_us(s.last_trade_ts),
            updated_at=from_us(s.at),
            simulated=s.state is SourceState.SIMULATED or s.source in SIMULATED_SOURCES,
        )


# ------------------------------------------------------------------ live stream messages

Channel = Literal["trades", "candles", "status"]
CHANNELS: tuple[Channel, ...] = ("trades", "candles", "status")


class StreamRequest(Schema):
    """A client message on `/v1/stream`."""

    op: Literal["subscribe", "unsubscribe", "ping"]
    instruments: list[str] = Field(
        default_factory=list,
        description="`exchange:SYMBOL`, `exchange:*` or `*`",
        examples=[["binance:BTCUSDT", "sim:ETHUSDT"]],
    )
    channels: list[Channel] = Field(default_factory=list)


class StreamTrades(Schema):
    channel: Literal["trades"] = "trades"
    exchange: str
    symbol: str
    simulated: bool
    trades: list[TradeOut]


class StreamCandle(Schema):
    channel: Literal["candles"] = "candles"
    exchange: str
    symbol: str
    interval: Literal["1m"] = "1m"
    candle: CandleOut


class StreamStatus(Schema):
    channel: Literal["status"] = "status"
    status: SourceStatusOut


class StreamSubscriptions(Schema):
    """Sent after every op: what the client is now subscribed to."""

    channel: Literal["subscriptions"] = "subscriptions"
    instruments: list[str]
    channels: list[Channel]


class StreamError(Schema):
    """A client message that was refused; the subscriptions are unchanged."""

    channel: Literal["error"] = "error"
    field: str
    detail: str


class StreamPong(Schema):
    channel: Literal["pong"] = "pong"
