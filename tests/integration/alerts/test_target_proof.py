"""E-mail and Telegram targets are proven by their user before alerts go there: the
first delivery sends a confirmation code instead of the alert, and waits; once the
user posts the code, the alert goes out. So the server relays nothing to strangers."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.accounts import signup
from tests.fixtures.fake_smtp import FakeSmtp
from tests.fixtures.fake_telegram import FakeTelegram
from tests.integration.alerts.test_notifiers import NOW, configured, delivery, seed
from tickhub.alerts.notifiers import DeliveryWorker, OutboxUnitOfWork, confirm_target
from tickhub.common import errors
from tickhub.settings import Settings

CODE = re.compile(r"Confirmation code: ([0-9]{6})")
TO = "owner@example.com"


def body_of(mail: object) -> str:
    message = mail.message  # type: ignore[attr-defined]
    return str(message.get_body(("plain",)).get_content())


async def test_an_address_gets_a_code_first_and_the_alert_once_confirmed(
    engine: AsyncEngine, settings: Settings
) -> None:
    smtp = FakeSmtp()
    outbox = OutboxUnitOfWork.factory(engine)
    async with smtp.serving() as where:
        s = await seed(engine, [{"type": "email", "to": TO}], proven=False)
        async with DeliveryWorker(outbox, configured(settings, smtp=where)) as worker:
            assert await worker.deliver_due(NOW) == 1
            (mail,) = smtp.mails
            assert "confirm" in str(mail.message["Subject"]).lower()
            found = CODE.search(body_of(mail))
            assert found is not None
            code = found[1]
            assert "BTC breakout" not in body_of(mail)  # not the alert
            row = await delivery(engine, s.deliveries[0])
            assert row.status == "pending"
            assert "confirmed" in row.last_error

            later = NOW + timedelta(seconds=60)
            assert await worker.deliver_due(later) == 1
            assert len(smtp.mails) == 1  # no second code within the hour

            with pytest.raises(errors.Unprocessable):
                await confirm_target(
                    outbox, user_id=s.user_id, channel="email", target=TO, code="000000"
                    if code != "000000" else "111111", now=later,
                )  # fmt: skip
            await confirm_target(
                outbox, user_id=s.user_id, channel="email", target=TO, code=code, now=later
            )
            again = NOW + timedelta(minutes=3)
            assert await worker.deliver_due(again) == 1
    assert len(smtp.mails) == 2
    assert "BTC breakout" in body_of(smtp.mails[1])
    row = await delivery(engine, s.deliveries[0])
    assert row.status == "sent"


async def test_a_telegram_chat_is_proven_the_same_way(
    engine: AsyncEngine, settings: Settings
) -> None:
    token = "123456:" + "a" * 35
    fake = FakeTelegram(token, chats={"424242"})
    outbox = OutboxUnitOfWork.factory(engine)
    async with fake.serving() as api_url:
        s = await seed(engine, [{"type": "telegram", "chat_id": "424242"}], proven=False)
        cfg = configured(settings, token=token, api_url=api_url)
        async with DeliveryWorker(outbox, cfg) as worker:
            assert await worker.deliver_due(NOW) == 1
            (first,) = fake.messages
            found = CODE.search(first.text)
            assert found is not None
            await confirm_target(
                outbox, user_id=s.user_id, channel="telegram", target="424242", code=found[1],
                now=NOW,
            )  # fmt: skip
            assert await worker.deliver_due(NOW + timedelta(minutes=2)) == 1
    assert len(fake.messages) == 2
    assert "BTC breakout" in fake.messages[1].text


async def test_five_wrong_codes_void_the_code(engine: AsyncEngine, settings: Settings) -> None:
    smtp = FakeSmtp()
    outbox = OutboxUnitOfWork.factory(engine)
    async with smtp.serving() as where:
        s = await seed(engine, [{"type": "email", "to": TO}], proven=False)
        async with DeliveryWorker(outbox, configured(settings, smtp=where)) as worker:
            await worker.deliver_due(NOW)
    found = CODE.search(body_of(smtp.mails[0]))
    assert found is not None
    wrong = "000000" if found[1] != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(errors.Unprocessable):
            await confirm_target(
                outbox, user_id=s.user_id, channel="email", target=TO, code=wrong, now=NOW
            )
    with pytest.raises(errors.NotFound):  # voided: even the right code no longer works
        await confirm_target(
            outbox, user_id=s.user_id, channel="email", target=TO, code=found[1], now=NOW
        )


async def test_the_confirm_route_names_the_field_at_fault(client: httpx.AsyncClient) -> None:
    user = await signup(client, "prover@example.com")
    url = "/v1/alerts/targets/confirm"
    body = {"channel": "email", "target": "nobody@example.com", "code": "123456"}
    r = await client.post(url, json=body, headers=user.headers)
    assert r.status_code == 404, r.text
    assert r.json()["field"] == "target"
    r = await client.post(url, json={**body, "code": "12ab"}, headers=user.headers)
    assert r.status_code == 422, r.text
    assert "code" in r.text
    r = await client.post(url, json=body)
    assert r.status_code == 401
