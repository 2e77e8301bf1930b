"""Accounts use cases with a clock the test moves: expiry, concurrent rotation, mail."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.accounts import PASSWORD, FakeMailer
from tests.fixtures.clocks import FakeClock
from tickhub.accounts import service
from tickhub.accounts.errors import Conflict, Invalid, InvalidCredentials
from tickhub.accounts.service import Accounts
from tickhub.settings import Settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(settings: Settings, engine: AsyncEngine, clock: FakeClock) -> Accounts:
    settings.auth.require_verification = False
    return service.build_accounts(settings, engine, clock=clock)


async def _user(accounts: Accounts, email: str = "ada@example.com") -> service.TokenPair:
    await service.register(
        accounts, email=email, password=PASSWORD, first_name="Ada", last_name="Lovelace"
    )
    return await service.login(accounts, email=email, password=PASSWORD)


async def test_access_tokens_expire(accounts: Accounts, clock: FakeClock) -> None:
    pair = await _user(accounts)
    clock.advance(seconds=accounts.settings.access_ttl_s - 1)
    assert (await service.authenticate_token(accounts, pair.access)).user.email
    clock.advance(seconds=1)
    with pytest.raises(InvalidCredentials):
        await service.authenticate_token(accounts, pair.access)


async def test_refresh_tokens_expire(accounts: Accounts, clock: FakeClock) -> None:
    pair = await _user(accounts)
    clock.advance(days=15)
    with pytest.raises(InvalidCredentials, match="invalid or expired"):
        await service.refresh(accounts, token=pair.refresh)


async def test_rotation_keeps_working_until_reuse(
    accounts: Accounts, clock: FakeClock, engine: AsyncEngine
) -> None:
    pair = await _user(accounts)
    tokens = [pair.refresh]
    for _ in range(5):
        clock.advance(minutes=10)
        tokens.append((await service.refresh(accounts, token=tokens[-1])).refresh)
    with pytest.raises(InvalidCredentials, match="blacklisted"):
        await service.refresh(accounts, token=tokens[2])
    with pytest.raises(InvalidCredentials, match="blacklisted"):
        await service.refresh(accounts, token=tokens[-1])  # the family went with it
    async with engine.connect() as conn:
        live = await conn.scalar(
            text("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")
        )
    assert live == 0


async def test_concurrent_refreshes_never_both_succeed(accounts: Accounts) -> None:
    pair = await _user(accounts)
    results = await asyncio.gather(
        *(service.refresh(accounts, token=pair.refresh) for _ in range(4)),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, service.TokenPair)]
    assert len(ok) <= 1
    assert all(isinstance(r, service.TokenPair | InvalidCredentials) for r in results)


async def test_verification_links_expire(
    settings: Settings, engine: AsyncEngine, clock: FakeClock
) -> None:
    accounts = service.build_accounts(settings, engine, clock=clock)
    done = await service.register(
        accounts, email="ada@example.com", password=PASSWORD, first_name="A", last_name="L"
    )
    assert done.verification_link is not None
    uid, token = done.verification_link.rsplit("/", 2)[1:]
    clock.advance(seconds=settings.auth.verify_ttl_s)
    with pytest.raises(Invalid, match="expired"):
        await service.verify_email(accounts, uid=uid, token=token)


async def test_mail_failure_keeps_the_account_and_hides_the_link(
    settings: Settings, engine: AsyncEngine
) -> None:
    class Broken(FakeMailer):
        async def send(self, to: str, subject: str, body: str) -> None:
            raise ConnectionRefusedError("smtp down")

    accounts = service.build_accounts(settings, engine, mailer=Broken())
    done = await service.register(
        accounts, email="ada@example.com", password=PASSWORD, first_name="A", last_name="L"
    )
    assert done.verification_link is None
    assert done.mail is not None  # sent after the answer, by the route
    assert not await accounts.send(done.mail)  # a failure is logged, not raised
    mailer = FakeMailer()
    accounts = service.build_accounts(settings, engine, mailer=mailer)
    again = await service.resend_verification(accounts, email="ada@example.com", password=PASSWORD)
    assert again.mail is not None
    assert await accounts.send(again.mail)
    assert mailer.sent[0][0] == "ada@example.com"


async def test_create_admin_promotes_an_existing_account_only_when_asked(
    accounts: Accounts,
) -> None:
    pair = await _user(accounts)
    with pytest.raises(Conflict, match="--promote-existing"):
        await service.create_admin(accounts, email="ADA@example.com", password="a-new-one-123")
    assert not (await service.authenticate_token(accounts, pair.access)).is_admin
    user, created = await service.create_admin(
        accounts, email="ADA@example.com", password="a-new-one-123", promote_existing=True
    )
    assert not created
    assert user.is_admin
    assert user.is_verified
    # The password is reset and every sign-in ended.
    with pytest.raises(Invalid):
        await service.login(accounts, email="ada@example.com", password=PASSWORD)
    with pytest.raises(InvalidCredentials):
        await service.authenticate_token(accounts, pair.access)
    with pytest.raises(InvalidCredentials):
        await service.refresh(accounts, token=pair.refresh)
    fresh = await service.login(accounts, email="ada@example.com", password="a-new-one-123")
    assert (await service.authenticate_token(accounts, fresh.access)).is_admin
    with pytest.raises(Invalid):
        await service.create_admin(accounts, email="new@example.com", password="123")
    with pytest.raises(Conflict):
        await service.register(
            accounts, email="ada@example.com", password=PASSWORD, first_name="A", last_name="L"
        )
