"""`/v1/strategies` and `/v1/alerts`: input checked here, output shaped here.

Structure (types, lengths, channel shapes) is checked by these models; what needs the
database or the condition parser (instruments, interval, condition, name clashes) is
checked by the service, which names the field at fault in the same way.

A webhook's secret is write-only: answers carry `secret_set` instead. An apprise
channel's URL is write-only too (it holds the service's credentials): answers carry its
`id`, `scheme` and a masked `host`; a PATCH keeps it by sending `{"type": "apprise",
"id": ...}`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tickhub.accounts.schemas import normalize_email
from tickhub.alerts.events import AlertRaised
from tickhub.common.schemas import Schema, UtcTime
from tickhub.common.time import from_us
from tickhub.marketdata.schemas import Problem

MAX_NAME = 100
MAX_INSTRUMENTS = 100
MAX_CHANNELS = 10
MAX_COOLDOWN_S = 30 * 86_400
# At most one alert per strategy and instrument in this long: bounds what one strategy
# can send, whatever its condition.
MIN_COOLDOWN_S = 300
MAX_URL = 512  # alert_deliveries.target
MIN_SECRET, MAX_SECRET = 16, 256
# The condition's own limits (length, size, depth) are the parser's, reported with a
# position; this cap only keeps absurd bodies out of the parser.
MAX_CONDITION_BODY = 100_000

_TELEGRAM_CHAT = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("must not contain spaces or control characters")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials (user:password@)")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"malformed port: {exc}") from None
    return value


def _chat_id(value: object) -> object:
    """An integer chat id may arrive as a JSON number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _telegram_chat(value: str) -> str:
    if not _TELEGRAM_CHAT.match(value):
        raise ValueError(
            "must be a numeric chat id (like -1001234567890) or a channel name like @my_channel"
        )
    return value


def _email(value: str) -> str:
    return normalize_email(value)


HttpUrlText = Annotated[
    str, Field(min_length=1, max_length=MAX_URL, examples=["https://example.com/hook"]),
    AfterValidator(_http_url),
]  # fmt: skip
Secret = Annotated[str, Field(min_length=MIN_SECRET, max_length=MAX_SECRET)]
ChatId = Annotated[
    str, BeforeValidator(_chat_id), Field(min_length=1, max_length=33, examples=["@my_alerts"]),
    AfterValidator(_telegram_chat),
]  # fmt: skip
EmailText = Annotated[
    str, Field(min_length=3, max_length=254, examples=["me@example.com"]), AfterValidator(_email)
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- channels


class WebhookIn(_In):
    type: Literal["webhook"]
    url: HttpUrlText
    secret: Secret | None = Field(
        default=None,
        description="Signs each call (HMAC-SHA256). Required for a new webhook; omit it in "
        "a PATCH to keep the secret of the webhook with the same URL. Never shown again.",
    )


class TelegramIn(_In):
    type: Literal["telegram"]
    chat_id: ChatId


class EmailIn(_In):
    type: Literal["email"]
    to: EmailText


APPRISE_ID = r"^[0-9a-f]{16}$"


class AppriseIn(_In):
    type: Literal["apprise"]
    url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="An apprise URL (`ntfy://topic`, `twilio://SID:Token@From/To`, "
        "`json://host/path`, ...). Stored encrypted, never shown again.",
        examples=["ntfy://my-tickhub-alerts"],
    )
    id: str | None = Field(
        default=None,
        pattern=APPRISE_ID,
        description="Instead of `url` in a PATCH: keep the strategy's apprise channel with "
        "this id as it is",
    )

    @model_validator(mode="after")
    def _url_or_id(self) -> AppriseIn:
        if (self.url is None) == (self.id is None):
            raise ValueError("send either url (a new channel) or id (keep one), not both")
        return self


ChannelIn = Annotated[WebhookIn | TelegramIn | EmailIn | AppriseIn, Field(discriminator="type")]


class TargetConfirmIn(_In):
    """The code sent to an e-mail address or Telegram chat, proving it the caller's."""

    channel: Literal["email", "telegram", "apprise"]
    target: str = Field(
        min_length=1,
        max_length=254,
        description="the address, the chat id, or the apprise channel's id",
        examples=["@me"],
    )
    code: str = Field(pattern=r"^[0-9]{6}$", examples=["042917"])

    @model_validator(mode="after")
    def _normal_target(self) -> TargetConfirmIn:
        self.target = _email(self.target) if self.channel == "email" else self.target
        return self


class WebhookOut(Schema):
    type: Literal["webhook"] = "webhook"
    url: str
    secret_set: bool = Field(description="A secret is stored (it is never shown)")


class TelegramOut(Schema):
    type: Literal["telegram"] = "telegram"
    chat_id: str


class EmailOut(Schema):
    type: Literal["email"] = "email"
    to: str


class AppriseOut(Schema):
    type: Literal["apprise"] = "apprise"
    id: str = Field(description="Names the channel (deliveries' `target`); not the URL")
    scheme: str = Field(examples=["ntfy"])
    host: str = Field(description="The URL's host, masked", examples=["my…"])
    needs_confirmation: bool = Field(
        description="The service messages a person (SMS, WhatsApp, e-mail): a code is sent "
        "there first, and alerts follow once it is entered"
    )


ChannelOut = WebhookOut | TelegramOut | EmailOut | AppriseOut


def channel_out(stored: dict[str, Any]) -> ChannelOut:
    """A stored channel as shown: without the webhook's secret or the apprise URL."""
    kind = stored.get("type")
    if kind == "apprise":
        return AppriseOut(
            id=str(stored.get("id", "")),
            scheme=str(stored.get("scheme", "")),
            host=str(stored.get("host", "")),
            needs_confirmation=bool(stored.get("proof")),
        )
    if kind == "webhook":
        return WebhookOut(url=str(stored.get("url", "")), secret_set=bool(stored.get("secret")))
    if kind == "telegram":
        return TelegramOut(chat_id=str(stored.get("chat_id", "")))
    return EmailOut(to=str(stored.get("to", "")))


# ---------------------------------------------------------------- strategies

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, examples=["RSI dip"])]
InstrumentText = Annotated[str, Field(min_length=1, max_length=130, examples=["binance:BTCUSDT"])]
Instruments = Annotated[
    list[InstrumentText],
    Field(
        min_length=1,
        max_length=MAX_INSTRUMENTS,
        description="`exchange:SYMBOL`, or `SYMBOL` when only one exchange has it; either "
        "spelling of the symbol (`BTCUSDT`, `BTC-USDT`)",
    ),
]
IntervalText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=16,
        examples=["15m"],
        description="A whole number of minutes from 1m to 1d: `1m`, `5m`, `15m`, `1h`, `4h`, `1d`",
    ),
]
ConditionText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CONDITION_BODY,
        examples=["rsi(14) < 30 and close > sma(close, 50)"],
        description="The condition language; see `POST /v1/strategies/check`",
    ),
]
Cooldown = Annotated[
    int,
    Field(
        ge=MIN_COOLDOWN_S,
        le=MAX_COOLDOWN_S,
        description=f"Seconds after an alert before the next one (at least {MIN_COOLDOWN_S})",
    ),
]
Channels = Annotated[list[ChannelIn], Field(max_length=MAX_CHANNELS)]
MAX_PAPER_AMOUNT = Decimal("1e9")


class PaperOrder(_In):
    """What each alert trades: a purchase or sale of `amount` coins at the candle's close."""

    side: Literal["Purchase", "Sale"]
    amount: Decimal = Field(gt=0, le=MAX_PAPER_AMOUNT, decimal_places=18, examples=["0.01"])


class StrategyPaperIn(PaperOrder):
    """Paper trading: each alert is booked as a transaction of this session of yours."""

    session_id: int = Field(ge=1, le=2**63 - 1)


class StrategyPaperOut(Schema):
    session_id: int
    side: str
    amount: Decimal


class StrategyIn(_In):
    name: Name
    instruments: Instruments
    interval: IntervalText
    condition: ConditionText
    cooldown_s: Cooldown = MIN_COOLDOWN_S
    channels: Channels = Field(default_factory=list)
    active: bool = True
    paper: StrategyPaperIn | None = None


class StrategyPatch(_In):
    """Only the fields sent change; `instruments` and `channels` are replaced whole."""

    name: Name | None = None
    instruments: Instruments | None = None
    interval: IntervalText | None = None
    condition: ConditionText | None = None
    cooldown_s: Cooldown | None = None
    channels: Channels | None = None
    active: bool | None = None
    paper: StrategyPaperIn | None = Field(default=None, description="null: stop paper trading")

    @model_validator(mode="after")
    def _no_nulls(self) -> StrategyPatch:
        for name in self.model_fields_set - {"paper"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null: leave it out to keep it")
        return self


class StrategyOut(Schema):
    id: int
    name: str
    instruments: list[str] = Field(examples=[["binance:BTCUSDT"]])
    interval: str = Field(examples=["15m"])
    interval_s: int = Field(examples=[900])
    condition: str = Field(description="As written")
    canonical: str | None = Field(description="The condition as tickhub reads it, fully bracketed")
    cooldown_s: int
    channels: list[ChannelOut]
    active: bool
    paper: StrategyPaperOut | None = Field(
        default=None, description="The session each alert is booked in, and the order"
    )
    created_at: UtcTime
    updated_at: UtcTime


class StrategyPage(Schema):
    items: list[StrategyOut]
    total: int
    limit: int
    offset: int


class ConditionIn(_In):
    condition: ConditionText


class ConditionOut(Schema):
    condition: str
    canonical: str = Field(examples=["((rsi(14) < 30) and (close > sma(close, 50)))"])
    series: list[str] = Field(description="Candle series read", examples=[["close"]])
    functions: list[str] = Field(description="Indicators called", examples=[["rsi", "sma"]])
    lookback: int = Field(description="Candles needed before the condition is defined")


class ConditionProblem(Problem):
    """A refused condition: where (0-based character offset) and why."""

    position: int | None = Field(default=None, description="0-based offset of the fault")
    reason: str | None = Field(default=None, description="What is wrong there")


# ---------------------------------------------------------------- alerts


class InstrumentOut(Schema):
    exchange: str = Field(examples=["binance"])
    symbol: str = Field(examples=["BTCUSDT"])


class AlertOut(Schema):
    id: int
    strategy_id: int | None = Field(description="Null once the strategy is deleted")
    strategy_name: str
    instrument: InstrumentOut
    interval: str
    candle_start: UtcTime
    candle_close: UtcTime
    condition: str
    values: dict[str, float | None] = Field(
        description="The series and indicator values that made the condition true"
    )
    close: float = Field(description="The candle's close price")
    raised_at: UtcTime

    @classmethod
    def of_event(cls, e: AlertRaised) -> AlertOut:
        return cls(
            id=e.alert_id,
            strategy_id=e.strategy_id,
            strategy_name=e.strategy_name,
            instrument=InstrumentOut(exchange=e.exchange, symbol=e.symbol),
            interval=e.interval,
            candle_start=from_us(e.candle_start),
            candle_close=from_us(e.candle_close),
            condition=e.condition,
            values=dict(e.values),
            close=e.close,
            raised_at=from_us(e.raised_at),
        )


class DeliveryOut(Schema):
    id: int
    channel: str = Field(examples=["webhook"])
    target: str = Field(description="URL, chat id or address (never a secret)")
    status: str = Field(examples=["sent"], description="pending, sent or failed")
    attempts: int
    last_error: str | None
    response_status: int | None
    delivered_at: UtcTime | None


class AlertDetailOut(AlertOut):
    deliveries: list[DeliveryOut]


class AlertPage(Schema):
    items: list[AlertOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page"
    )
