"""The notifiers' pure parts: message rendering, the webhook signature as the README
documents it, and reading `Retry-After`."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tickhub.alerts.notifiers import email_message, sign, telegram_text, webhook_body
from tickhub.alerts.notifiers._http import retry_after_s
from tickhub.alerts.notifiers._message import TELEGRAM_MAX_CHARS
from tickhub.alerts.repository import AlertRecord

README = Path(__file__).resolve().parents[3] / "README.md"
START = datetime(2026, 11, 23, 14, 45, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def alert(**changes: object) -> AlertRecord:
    fields: dict[str, object] = {
        "id": 812,
        "user_id": "3f1c2d7e-9b1a-4c55-8d0e-6a7b8c9d0e1f",
        "strategy_id": 17,
        "strategy_name": "RSI dip",
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "interval": "15m",
        "candle_start": (START - EPOCH) // timedelta(microseconds=1),
        "candle_close": (START + timedelta(minutes=15) - EPOCH) // timedelta(microseconds=1),
        "condition": "rsi(14) < 30",
        "values": {"rsi(14)": 28.41, "sma(close, 50)": float("nan"), "ema": None},
        "close": 97_012.5,
        "raised_at": START + timedelta(minutes=15, seconds=2),
    }
    fields.update(changes)
    return AlertRecord(**fields)  # type: ignore[arg-type]


def test_webhook_body_is_the_alert_with_iso_times_and_no_nan() -> None:
    doc = json.loads(webhook_body(alert()))
    assert doc["candle_start"] == START.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert doc["candle_close"] == (START + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert doc["values"] == {"rsi(14)": 28.41, "sma(close, 50)": None, "ema": None}
    assert (doc["id"], doc["strategy_id"], doc["close"]) == (812, 17, 97_012.5)
    assert "user_id" not in doc  # the record carries the owner; the body does not


def test_the_readme_verification_code_accepts_our_signature() -> None:
    code = re.search(r"```python\n(import hashlib, hmac, time.*?)```", README.read_text(), re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(code.group(1), namespace)  # the README's own snippet
    verify = namespace["verify"]
    assert callable(verify)
    body, secret = webhook_body(alert()), "s3cret-of-the-channel"
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "X-Tickhub-Timestamp": str(timestamp),
        "X-Tickhub-Signature": sign(secret, timestamp, body),
    }
    assert verify(secret, headers, body)
    assert not verify("another-secret", headers, body)
    assert not verify(secret, headers, body + b" ")
    stale = timestamp - 3600
    old = {"X-Tickhub-Timestamp": str(stale), "X-Tickhub-Signature": sign(secret, stale, body)}
    assert not verify(secret, old, body)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert sign(secret, timestamp, body) == f"sha256={mac.hexdigest()}"


def test_texts_are_single_line_subjects_and_bounded_telegram_messages() -> None:
    subject, body = email_message(alert(strategy_name="two\nlines"))
    assert "\n" not in subject and "two lines on binance:BTCUSDT 15m" in subject
    assert "rsi(14) = 28.41" in body and "sma(close, 50) = n/a" in body
    long = telegram_text(alert(condition="x" * 10_000))
    assert len(long) == TELEGRAM_MAX_CHARS and long.endswith("…")


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert retry_after_s("120", now) == 120
    assert retry_after_s(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry_after_s(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None
