"""What a delivery says: the alert as a webhook's JSON body, a Telegram text, an e-mail
and an apprise notification. Pure: no I/O."""

from __future__ import annotations

import math
from typing import Any

import orjson

from tickhub.alerts.repository import AlertRecord
from tickhub.common.time import format_time, from_us

TELEGRAM_MAX_CHARS = 4096  # the Bot API's limit for one message's text


def _document(alert: AlertRecord) -> dict[str, Any]:
    """The alert as JSON data: times as ISO-8601 UTC with `Z` (no `user_id`)."""
    return {
        "id": alert.id,
        "strategy_id": alert.strategy_id,
        "strategy_name": alert.strategy_name,
        "exchange": alert.exchange,
        "symbol": alert.symbol,
        "interval": alert.interval,
        "candle_start": format_time(from_us(alert.candle_start)),
        "candle_close": format_time(from_us(alert.candle_close)),
        "condition": alert.condition,
        "values": {k: _finite(v) for k, v in alert.values.items()},
        "close": _finite(alert.close),
        "raised_at": format_time(alert.raised_at),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def webhook_body(alert: AlertRecord) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, UTF-8."""
    return orjson.dumps(_document(alert))


def _number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.10g}"


def _lines(alert: AlertRecord) -> list[str]:
    doc = _document(alert)
    lines = [
        f"Instrument: {alert.exchange}:{alert.symbol}",
        f"Candle: {alert.interval} {doc['candle_start']} to {doc['candle_close']}",
        f"Condition: {alert.condition}",
        f"Close: {_number(alert.close)}",
    ]
    if alert.values:
        lines.append("Values:")
        lines.extend(f"  {name} = {_number(value)}" for name, value in alert.values.items())
    lines.append(f"Raised at: {doc['raised_at']}")
    return lines


def headline(alert: AlertRecord) -> str:
    """One line (fit for a mail subject): line breaks and runs of spaces become one space."""
    text = f"{alert.strategy_name} on {alert.exchange}:{alert.symbol} {alert.interval}"
    return " ".join(text.split())


def telegram_text(alert: AlertRecord) -> str:
    """Plain text (no parse mode, so nothing needs escaping), within the Bot API's limit."""
    text = "\n".join([f"tickhub alert: {headline(alert)}", "", *_lines(alert)])
    if len(text) > TELEGRAM_MAX_CHARS:
        text = text[: TELEGRAM_MAX_CHARS - 1] + "…"
    return text


def apprise_message(alert: AlertRecord) -> tuple[str, str]:
    """(title, plain-text body): services that have no title put it first."""
    return f"tickhub alert: {headline(alert)}", "\n".join(_lines(alert))


def email_message(alert: AlertRecord) -> tuple[str, str]:
    """(subject, plain-text body)."""
    subject = f"[tickhub] {headline(alert)}"
    body = "\n".join(
        [
            f"Your strategy {alert.strategy_name!r} raised an alert.",
            "",
            *_lines(alert),
            "",
            f"Alert id: {alert.id}",
            "",
        ]
    )
    return subject, body
