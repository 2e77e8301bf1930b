"""Alert delivery against real local servers, on SQLite and PostgreSQL.

The outbox rows are written directly (as the scanner writes them); `deliver_due(now)`
sends them to a webhook receiver that verifies the signature, a fake Telegram Bot API
and an aiosmtpd server, and each test checks what the server received and what was
recorded. Retries are reached by passing `now` forward, never by waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.fake_smtp import FakeSmtp
from tests.fixtures.fake_telegram import FakeTelegram
from tests.fixtures.local_http import closed_port
from tests.fixtures.webhook_receiver import Reply, WebhookReceiver, expected_signature
from tickhub.accounts.models import User
from tickhub.alerts.models import AlertDelivery, AlertRow, AlertTarget, Strategy
from tickhub.alerts.notifiers import DeliveryWorker, OutboxRepository, OutboxUnitOfWork
from tickhub.alerts.notifiers._worker import lease_s
from tickhub.db import create_engine
from tickhub.settings import NotifySettings, Settings, SmtpSettings

users_t: Table = User.__table__  # type: ignore[assignment]
strategies_t: Table = Strategy.__table__  # type: ignore[assignment]
alerts_t: Table = AlertRow.__table__  # type: ignore[assignment]
deliveries_t: Table = AlertDelivery.__table__  # type: ignore[assignment]
targets_t: Table = AlertTarget.__table__  # type: ignore[assignment]

NOW = datetime(2026, 11, 23, 15, 1, 2, tzinfo=UTC)
CANDLE_START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VALUES: dict[str, float | None] = {"close": 101_234.5, "sma(close, 20)": 100_000.25, "rsi": None}
CONDITION = "close > sma(close, 20) and rsi(close, 14) < 70"
BACKOFF_S = 2.0
SENDER = "tickhub alerts <alerts@tickhub.test>"
TARGET_KEYS = {"webhook": "url", "telegram": "chat_id", "email": "to", "apprise": "id"}


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def webhook_secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def bot_token() -> str:
    return f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"


def configured(
    settings: Settings,
    *,
    token: str = "",
    api_url: str = "http://127.0.0.1:9",
    smtp: tuple[str, int] | None = None,
    starttls: bool = False,
    **notify: Any,
) -> Settings:
    notify.setdefault("notify_timeout_s", 5.0)
    notify.setdefault("notify_attempts", 3)
    notify.setdefault("notify_backoff_s", BACKOFF_S)
    notify.setdefault("notify_allow_hosts", ["127.0.0.1"])  # the loopback receivers
    host, port = smtp or ("", 25)
    return settings.model_copy(
        update={
            "notify": NotifySettings(
                _env_file=None,
                telegram_bot_token=SecretStr(token),
                telegram_api_url=api_url,
                **notify,
            ),
            "smtp": SmtpSettings(
                _env_file=None,
                host=host,
                port=port,
                sender=SENDER,
                starttls=starttls,
            ),
        }
    )


@dataclass(frozen=True)
class Seeded:
    user_id: str
    strategy_id: int
    alert_id: int
    deliveries: list[int]  # in the order of the channels


async def seed(
    engine: AsyncEngine,
    channels: Sequence[dict[str, Any]],
    *,
    now: datetime = NOW,
    name: str = "BTC breakout",
    proven: bool = True,
) -> Seeded:
    """A user, a strategy with these channels, one alert and its pending deliveries, as
    the scanner writes them; with `proven`, the user has confirmed the e-mail and
    Telegram targets already."""
    user_id = str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(
            insert(users_t).values(
                id=user_id,
                email=f"{user_id}@example.com",
                password_hash="not-a-real-hash",
                first_name="Ada",
                last_name="Lovelace",
                is_verified=True,
                is_admin=False,
                created_at=now,
                password_changed_at=now,
            )
        )
        strategy_id = await conn.scalar(
            insert(strategies_t)
            .values(
                user_id=user_id,
                name=name,
                instruments=["binance:BTCUSDT"],
                interval="1m",
                interval_s=60,
                condition=CONDITION,
                cooldown_s=0,
                channels=list(channels),
                active=True,
                created_at=now,
                updated_at=now,
            )
            .returning(strategies_t.c.id)
        )
        assert strategy_id is not None
        alert_id = await conn.scalar(
            insert(alerts_t)
            .values(
                user_id=user_id,
                strategy_id=strategy_id,
                strategy_name=name,
                exchange="binance",
                symbol="BTCUSDT",
                interval="1m",
                candle_start=us(CANDLE_START),
                candle_close=us(CANDLE_START + timedelta(minutes=1)),
                condition=CONDITION,
                values=VALUES,
                close=101_234.5,
                raised_at=now,
            )
            .returning(alerts_t.c.id)
        )
        assert alert_id is not None
        ids = []
        for channel in channels:
            kind = channel["type"]
            delivery_id = await conn.scalar(
                insert(deliveries_t)
                .values(
                    alert_id=alert_id,
                    channel=kind,
                    target=str(channel[TARGET_KEYS[kind]]),
                    status="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
                .returning(deliveries_t.c.id)
            )
            assert delivery_id is not None
            ids.append(delivery_id)
            if proven and kind in {"email", "telegram"}:
                await conn.execute(
                    insert(targets_t).values(
                        user_id=user_id,
                        channel=kind,
                        target=str(channel[TARGET_KEYS[kind]]),
                        wrong_codes=0,
                        confirmed_at=now,
                        created_at=now,
                    )
                )
    return Seeded(user_id, strategy_id, alert_id, ids)


async def delivery(engine: AsyncEngine, delivery_id: int) -> Row[Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(deliveries_t).where(deliveries_t.c.id == delivery_id))
        ).one()
    return row


def expected_document(alert_id: int, strategy_id: int) -> dict[str, Any]:
    return {
        "id": alert_id,
        "strategy_id": strategy_id,
        "strategy_name": "BTC breakout",
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "interval": "1m",
        "candle_start": iso(CANDLE_START),
        "candle_close": iso(CANDLE_START + timedelta(minutes=1)),
        "condition": CONDITION,
        "values": VALUES,
        "close": 101_234.5,
        "raised_at": iso(NOW),
    }


# --- webhook -------------------------------------------------------------------------


async def test_webhook_posts_the_alert_signed_and_records_it(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    async with receiver.serving() as base:
        url = f"{base}/hooks/tickhub"
        s = await seed(engine, [{"type": "webhook", "url": url, "secret": webhook_secret}])
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), configured(settings)) as worker:
            assert await worker.deliver_due(NOW) == 1
            assert await worker.deliver_due(NOW + timedelta(days=1)) == 0

    [got] = receiver.received
    assert got.path == "/hooks/tickhub"
    assert got.signature_ok
    timestamp = str(int(NOW.timestamp()))
    assert got.headers["x-tickhub-timestamp"] == timestamp
    assert got.headers["x-tickhub-signature"] == expected_signature(
        webhook_secret, timestamp, got.body
    )
    assert got.headers["x-tickhub-delivery"] == str(s.deliveries[0])
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == expected_document(s.alert_id, s.strategy_id)

    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)
    assert row.delivered_at == NOW
    assert row.last_error is None


async def test_webhook_answering_500_then_200_is_sent_on_the_second_attempt(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(500, body=b"database unavailable"))
    async with receiver.serving() as base:
        channel = {"type": "webhook", "url": f"{base}/in", "secret": webhook_secret}
        s = await seed(engine, [channel])
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), configured(settings)) as worker:
            assert await worker.deliver_due(NOW) == 1
            row = await delivery(engine, s.deliveries[0])
            assert (row.status, row.attempts, row.response_status) == ("pending", 1, 500)
            assert row.last_error == "HTTP 500 Internal Server Error"  # never the answer
            assert row.next_attempt_at == NOW + timedelta(seconds=BACKOFF_S)
            assert row.delivered_at is None

            assert await worker.deliver_due(NOW + timedelta(seconds=BACKOFF_S / 2)) == 0
            later = NOW + timedelta(seconds=BACKOFF_S)
            assert await worker.deliver_due(later) == 1

    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("sent", 2, 200)
    assert row.delivered_at == later
    assert row.last_error is None
    first, second = receiver.received
    assert first.signature_ok and second.signature_ok
    assert first.body == second.body
    assert first.headers["x-tickhub-delivery"] == second.headers["x-tickhub-delivery"]
    assert second.headers["x-tickhub-timestamp"] == str(int(later.timestamp()))


async def test_webhook_429_waits_as_long_as_retry_after_asks(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    wait_s = 120
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(429, headers={"Retry-After": str(wait_s)}))
    async with receiver.serving() as base:
        s = await seed(engine, [{"type": "webhook", "url": base, "secret": webhook_secret}])
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), configured(settings)) as worker:
            assert await worker.deliver_due(NOW) == 1
            row = await delivery(engine, s.deliveries[0])
            assert (row.status, row.attempts, row.response_status) == ("pending", 1, 429)
            assert row.next_attempt_at == NOW + timedelta(seconds=wait_s)
            assert await worker.deliver_due(NOW + timedelta(seconds=wait_s - 1)) == 0
            assert await worker.deliver_due(NOW + timedelta(seconds=wait_s)) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts) == ("sent", 2)


async def test_webhook_410_fails_for_good(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(410, body=b"this hook was removed"))
    async with receiver.serving() as base:
        s = await seed(engine, [{"type": "webhook", "url": base, "secret": webhook_secret}])
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), configured(settings)) as worker:
            assert await worker.deliver_due(NOW) == 1
            assert await worker.deliver_due(NOW + timedelta(days=2)) == 0
    assert len(receiver.received) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("failed", 1, 410)
    assert row.last_error == "HTTP 410 Gone"
    assert row.delivered_at is None


async def test_webhook_gives_up_after_the_configured_attempts(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(503), Reply(503))
    async with receiver.serving() as base:
        s = await seed(engine, [{"type": "webhook", "url": base, "secret": webhook_secret}])
        cfg = configured(settings, notify_attempts=2)
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), cfg) as worker:
            assert await worker.deliver_due(NOW) == 1
            assert await worker.deliver_due(NOW + timedelta(seconds=BACKOFF_S)) == 1
            assert await worker.deliver_due(NOW + timedelta(days=2)) == 0
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("failed", 2, 503)
    assert "gave up after 2 attempts" in row.last_error


async def test_backoff_doubles_between_attempts(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(502), Reply(502))
    async with receiver.serving() as base:
        s = await seed(engine, [{"type": "webhook", "url": base, "secret": webhook_secret}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, notify_attempts=5)
        ) as worker:
            await worker.deliver_due(NOW)
            second = (await delivery(engine, s.deliveries[0])).next_attempt_at
            assert second == NOW + timedelta(seconds=BACKOFF_S)
            await worker.deliver_due(second)
            third = (await delivery(engine, s.deliveries[0])).next_attempt_at
            assert third == second + timedelta(seconds=2 * BACKOFF_S)
            assert await worker.deliver_due(third) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts) == ("sent", 3)


async def test_webhook_that_never_answers_times_out_and_is_retried(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(hang=True))
    async with receiver.serving() as base:
        s = await seed(engine, [{"type": "webhook", "url": base, "secret": webhook_secret}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, notify_timeout_s=0.2)
        ) as worker:
            assert await worker.deliver_due(NOW) == 1
    assert len(receiver.received) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, None)
    assert row.last_error.startswith("timeout")
    assert row.next_attempt_at == NOW + timedelta(seconds=BACKOFF_S)


async def test_unreachable_webhook_is_retried(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    s = await seed(engine, [{"type": "webhook", "url": url, "secret": webhook_secret}])
    async with DeliveryWorker(OutboxUnitOfWork.factory(engine), configured(settings)) as worker:
        assert await worker.deliver_due(NOW) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, None)
    assert row.last_error == "connection refused"


# --- telegram ------------------------------------------------------------------------


async def test_telegram_sends_a_readable_message(
    engine: AsyncEngine, settings: Settings, bot_token: str
) -> None:
    fake = FakeTelegram(bot_token, chats={"123456789", "@tickhub_alerts"})
    async with fake.serving() as api_url:
        s = await seed(
            engine,
            [
                {"type": "telegram", "chat_id": "123456789"},
                {"type": "telegram", "chat_id": "@tickhub_alerts"},
            ],
        )
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, token=bot_token, api_url=api_url)
        ) as w:
            assert await w.deliver_due(NOW) == 2

    by_chat = {m.chat_id: m for m in fake.messages}
    assert set(by_chat) == {"123456789", "@tickhub_alerts"}
    assert by_chat["123456789"].payload["chat_id"] == 123456789
    assert by_chat["@tickhub_alerts"].payload["chat_id"] == "@tickhub_alerts"
    text = by_chat["123456789"].text
    assert by_chat["@tickhub_alerts"].text == text
    for part in (
        "BTC breakout",
        "binance:BTCUSDT",
        "1m",
        iso(CANDLE_START),
        CONDITION,
        "sma(close, 20) = 100000.25",
        "rsi = n/a",
        "101234.5",
    ):
        assert part in text
    for delivery_id in s.deliveries:
        row = await delivery(engine, delivery_id)
        assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)
        assert row.last_error is None


async def test_telegram_refusal_fails_for_good(
    engine: AsyncEngine, settings: Settings, bot_token: str
) -> None:
    fake = FakeTelegram(bot_token, chats={"1"})
    async with fake.serving() as api_url:
        s = await seed(engine, [{"type": "telegram", "chat_id": "-100999"}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, token=bot_token, api_url=api_url)
        ) as w:
            assert await w.deliver_due(NOW) == 1
            assert await w.deliver_due(NOW + timedelta(days=1)) == 0
    assert fake.messages == []
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("failed", 1, 400)
    assert row.last_error == "Telegram 400: Bad Request: chat not found"


async def test_telegram_429_waits_for_retry_after(
    engine: AsyncEngine, settings: Settings, bot_token: str
) -> None:
    wait_s = 37
    fake = FakeTelegram(bot_token, chats={"42"})
    fake.fail_next(429, f"Too Many Requests: retry after {wait_s}", retry_after=wait_s)
    async with fake.serving() as api_url:
        s = await seed(engine, [{"type": "telegram", "chat_id": "42"}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, token=bot_token, api_url=api_url)
        ) as w:
            assert await w.deliver_due(NOW) == 1
            row = await delivery(engine, s.deliveries[0])
            assert (row.status, row.attempts, row.response_status) == ("pending", 1, 429)
            assert row.next_attempt_at == NOW + timedelta(seconds=wait_s)
            assert await w.deliver_due(NOW + timedelta(seconds=wait_s)) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("sent", 2, 200)
    assert [m.chat_id for m in fake.messages] == ["42"]


async def test_telegram_without_a_bot_token_fails_for_good(
    engine: AsyncEngine, settings: Settings, bot_token: str
) -> None:
    fake = FakeTelegram(bot_token, chats={"42"})
    async with fake.serving() as api_url:
        s = await seed(engine, [{"type": "telegram", "chat_id": "42"}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, token="", api_url=api_url)
        ) as w:
            assert await w.deliver_due(NOW) == 1
    assert fake.requests == 0
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("failed", 1, None)
    assert row.last_error == "no Telegram bot token configured (set TICKHUB_TELEGRAM_BOT_TOKEN)"


# --- e-mail --------------------------------------------------------------------------


async def test_email_is_sent_over_smtp(engine: AsyncEngine, settings: Settings) -> None:
    smtp = FakeSmtp()
    async with smtp.serving() as address:
        s = await seed(engine, [{"type": "email", "to": "ada@example.com"}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, smtp=address)
        ) as worker:
            assert await worker.deliver_due(NOW) == 1

    [mail] = smtp.mails
    assert mail.mail_from == parseaddr(SENDER)[1]
    assert mail.rcpt_tos == ["ada@example.com"]
    message = mail.message
    assert message["To"] == "ada@example.com"
    assert message["From"] == SENDER
    subject = message["Subject"]
    assert "BTC breakout" in subject and "binance:BTCUSDT" in subject and "1m" in subject
    assert message["X-Tickhub-Delivery"] == str(s.deliveries[0])
    assert str(s.deliveries[0]) in message["Message-ID"]
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    for part in (
        "BTC breakout",
        "binance:BTCUSDT",
        iso(CANDLE_START),
        iso(CANDLE_START + timedelta(minutes=1)),
        CONDITION,
        "sma(close, 20) = 100000.25",
        "101234.5",
        f"Alert id: {s.alert_id}",
    ):
        assert part in text
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 250)
    assert row.delivered_at == NOW


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [("550 5.1.1 No such user here", "failed", 550), ("450 4.2.1 Mailbox busy", "pending", 450)],
)
async def test_email_recipient_refusal(
    engine: AsyncEngine, settings: Settings, reply: str, status: str, code: int
) -> None:
    smtp = FakeSmtp(refuse={"nobody@example.com": reply})
    async with smtp.serving() as address:
        s = await seed(engine, [{"type": "email", "to": "nobody@example.com"}])
        async with DeliveryWorker(
            OutboxUnitOfWork.factory(engine), configured(settings, smtp=address)
        ) as worker:
            assert await worker.deliver_due(NOW) == 1
    assert smtp.mails == []
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == (status, 1, code)
    assert reply.split(" ", 2)[2] in row.last_error


async def test_email_without_an_smtp_host_fails_for_good(
    engine: AsyncEngine, settings: Settings
) -> None:
    s = await seed(engine, [{"type": "email", "to": "ada@example.com"}])
    async with DeliveryWorker(
        OutboxUnitOfWork.factory(engine), configured(settings, smtp=None)
    ) as worker:
        assert await worker.deliver_due(NOW) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "no SMTP server configured (set TICKHUB_SMTP_HOST)"


async def test_email_needing_starttls_is_not_sent_in_clear(
    engine: AsyncEngine, settings: Settings
) -> None:
    smtp = FakeSmtp()  # offers no STARTTLS
    async with smtp.serving() as address:
        s = await seed(engine, [{"type": "email", "to": "ada@example.com"}])
        cfg = configured(settings, smtp=address, starttls=True)
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), cfg) as worker:
            assert await worker.deliver_due(NOW) == 1
    assert smtp.mails == []
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts) == ("failed", 1)
    assert "STARTTLS" in row.last_error


# --- the outbox ----------------------------------------------------------------------


@pytest.mark.parametrize("change", ["strategy deleted", "channel removed"])
async def test_deliveries_of_a_deleted_strategy_or_channel_fail_for_good(
    engine: AsyncEngine, settings: Settings, webhook_secret: str, change: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    async with receiver.serving() as base:
        s = await seed(
            engine,
            [
                {"type": "webhook", "url": base, "secret": webhook_secret},
                {"type": "email", "to": "ada@example.com"},
            ],
        )
        async with engine.begin() as conn:
            if change == "strategy deleted":
                await conn.execute(delete(strategies_t).where(strategies_t.c.id == s.strategy_id))
            else:
                await conn.execute(
                    update(strategies_t)
                    .where(strategies_t.c.id == s.strategy_id)
                    .values(channels=[{"type": "email", "to": "someone-else@example.com"}])
                )
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), configured(settings)) as worker:
            assert await worker.deliver_due(NOW) == 2
    assert receiver.received == []
    webhook, email = [await delivery(engine, i) for i in s.deliveries]
    assert (webhook.status, webhook.attempts) == ("failed", 1)
    assert (email.status, email.attempts) == ("failed", 1)
    if change == "strategy deleted":
        assert webhook.last_error == "the strategy was deleted before the alert was delivered"
    else:
        assert webhook.last_error == "the strategy no longer has this webhook channel"
        assert email.last_error == "the strategy no longer has this email channel"


async def test_secrets_are_never_stored_or_logged(
    engine: AsyncEngine,
    settings: Settings,
    webhook_secret: str,
    bot_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = WebhookReceiver(webhook_secret)
    receiver.then(Reply(500, body=b"try later"))
    fake = FakeTelegram(bot_token, chats={"42"})
    fake.fail_next(502, "Bad Gateway")
    async with receiver.serving() as base, fake.serving() as api_url:
        s = await seed(
            engine,
            [
                {"type": "webhook", "url": f"{base}/h", "secret": webhook_secret},
                {"type": "telegram", "chat_id": "42"},
                {"type": "telegram", "chat_id": "777"},  # unknown: refused
            ],
        )
        caplog.clear()  # what the test itself wrote (the seed's SQL) is not the worker's
        cfg = configured(settings, token=bot_token, api_url=api_url)
        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), cfg) as worker:
            assert await worker.deliver_due(NOW) == 3
            assert await worker.deliver_due(NOW + timedelta(seconds=BACKOFF_S)) == 2

    rows = [await delivery(engine, i) for i in s.deliveries]
    assert [r.status for r in rows] == ["sent", "sent", "failed"]
    stored = repr([tuple(r) for r in rows])
    logged = caplog.text + repr([(r.msg, r.args) for r in caplog.records])
    for secret in (webhook_secret, bot_token, bot_token.split(":", 1)[1]):
        assert secret not in stored
        assert secret not in logged
    # The HTTP client did log the Bot API calls, with the token blanked.
    calls = [r.getMessage() for r in caplog.records if "sendMessage" in r.getMessage()]
    assert calls and all("/bot***/sendMessage" in c for c in calls)


async def test_two_workers_never_send_the_same_delivery(
    engine: AsyncEngine, settings: Settings, webhook_secret: str, database_url: str
) -> None:
    count = 40
    receiver = WebhookReceiver(webhook_secret)
    async with receiver.serving() as base:
        s = await seed(
            engine,
            [
                {"type": "webhook", "url": f"{base}/h/{i}", "secret": webhook_secret}
                for i in range(count)
            ],
        )
        other_engine = create_engine(database_url)
        try:

            async def drain(worker: DeliveryWorker) -> int:
                total = 0
                while n := await worker.deliver_due(NOW):
                    total += n
                return total

            cfg = configured(settings)
            async with (
                DeliveryWorker(OutboxUnitOfWork.factory(engine), cfg, batch_size=3) as one,
                DeliveryWorker(OutboxUnitOfWork.factory(other_engine), cfg, batch_size=3) as two,
            ):
                done = await asyncio.gather(drain(one), drain(two))
        finally:
            await other_engine.dispose()

    assert sum(done) == count
    sent = sorted(int(r.headers["x-tickhub-delivery"]) for r in receiver.received)
    assert sent == sorted(s.deliveries)
    for delivery_id in s.deliveries:
        row = await delivery(engine, delivery_id)
        assert (row.status, row.attempts) == ("sent", 1)


async def test_a_delivery_interrupted_by_a_crash_is_sent_after_restart(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    cfg = configured(settings, notify_attempts=3)
    timeout_s = cfg.notify.notify_timeout_s
    receiver = WebhookReceiver(webhook_secret)
    async with receiver.serving() as base:
        s = await seed(
            engine,
            [
                {"type": "webhook", "url": f"{base}/a", "secret": webhook_secret},
                {"type": "webhook", "url": f"{base}/b", "secret": webhook_secret},
            ],
        )
        interrupted, exhausted = s.deliveries
        async with engine.begin() as conn:
            # `exhausted` used its attempts; the crashed worker was on its last one.
            await conn.execute(
                update(deliveries_t).where(deliveries_t.c.id == exhausted).values(attempts=2)
            )
        lease_until = NOW + timedelta(seconds=lease_s(timeout_s))
        async with engine.begin() as conn:  # a worker claims both, then dies
            claimed = await OutboxRepository(conn).claim_due(
                now=NOW, lease_until=lease_until, limit=10, max_attempts=3
            )
        assert sorted(c.id for c in claimed) == sorted(s.deliveries)

        async with DeliveryWorker(OutboxUnitOfWork.factory(engine), cfg) as restarted:
            assert await restarted.deliver_due(NOW) == 0  # still leased
            assert await restarted.deliver_due(lease_until) == 1

    assert [r.path for r in receiver.received] == ["/a"]
    row = await delivery(engine, interrupted)
    assert (row.status, row.attempts, row.response_status) == ("sent", 2, 200)
    row = await delivery(engine, exhausted)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "interrupted" in row.last_error


async def test_run_delivers_right_after_wake(
    engine: AsyncEngine, settings: Settings, webhook_secret: str
) -> None:
    receiver = WebhookReceiver(webhook_secret)
    worker = DeliveryWorker(
        OutboxUnitOfWork.factory(engine), configured(settings), poll_interval_s=3600
    )
    async with receiver.serving() as base, worker:
        task = asyncio.create_task(worker.run())
        try:
            await asyncio.wait_for(worker.wait_idle(), 10)  # first pass: nothing to do
            s = await seed(
                engine,
                [{"type": "webhook", "url": base, "secret": webhook_secret}],
                now=datetime.now(UTC),
            )
            worker.wake()
            await asyncio.wait_for(worker.wait_idle(), 10)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert len(receiver.received) == 1
    row = await delivery(engine, s.deliveries[0])
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)
