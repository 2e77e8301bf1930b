"""Registration and password-reset answers do not tell whether an address has an account:
the same answer, the same checks and hashing, and any mail sent after the answer."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text

from tests.fixtures.accounts import PASSWORD, FakeMailer, register
from tests.fixtures.local_http import serve
from tickhub.accounts import service
from tickhub.accounts.security import Passwords
from tickhub.app import create_app
from tickhub.runtime import Runtime

TIMEOUT = 10


class CountingPasswords(Passwords):
    """Real Argon2id, counting the hashes made."""

    def __init__(self, inner: Passwords) -> None:
        self.__dict__.update(inner.__dict__)
        self.hashed = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return super().hash(password)


async def _users(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM users"))).scalar_one())


async def test_registering_a_taken_address_answers_as_a_new_one(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    mailer = FakeMailer()
    accounts = service.build_accounts(runtime.settings, runtime.engine, mailer=mailer)
    passwords = CountingPasswords(accounts.passwords)
    app.state.accounts = dataclasses.replace(accounts, passwords=passwords)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        first = await register(c, "ada@example.com")
        assert first.status_code == 201, first.text
        assert passwords.hashed == 1
        again = await register(c, "Ada@Example.com", "another-pass-9", "Eve", "Mallory")
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert passwords.hashed == 2  # the same work, so the same time
        # A weak password is refused alike, taken address or not.
        weak_taken = await register(c, "ada@example.com", "short")
        weak_new = await register(c, "new@example.com", "short")
        assert weak_taken.status_code == weak_new.status_code == 400
        assert weak_taken.json() == weak_new.json()
    assert await _users(runtime) == 1
    # The owner hears of it; nobody else gets a link to the account.
    assert [(to, subject) for to, subject, _ in mailer.sent] == [
        ("ada@example.com", "Verify your e-mail address"),
        ("ada@example.com", "Someone tried to register with your e-mail address"),
    ]
    assert "/api/user/verify/" not in mailer.sent[1][2]


@dataclass
class GatedMailer(FakeMailer):
    """Holds every mail until the test opens the gate; `arrived` is set on each."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, to: str, subject: str, body: str) -> None:
        await self.gate.wait()
        await super().send(to, subject, body)
        self.arrived.set()

    async def release(self) -> tuple[str, str, str]:
        self.gate.set()
        await asyncio.wait_for(self.arrived.wait(), TIMEOUT)
        self.gate.clear()
        self.arrived.clear()
        return self.sent[-1]


@asynccontextmanager
async def served(runtime: Runtime, mailer: FakeMailer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    app.state.accounts = service.build_accounts(runtime.settings, runtime.engine, mailer=mailer)
    async with serve(app, lifespan=True) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def test_mail_goes_out_after_the_answer(runtime: Runtime) -> None:
    """A slow mail server (here: one that waits for the test) delays no answer, so the
    time of an answer cannot tell whether a mail was sent."""
    mailer = GatedMailer()
    async with served(runtime, mailer) as http:
        r = await asyncio.wait_for(register(http, "ada@example.com"), TIMEOUT)
        assert r.status_code == 201
        assert mailer.sent == []  # answered while the mail waits
        assert (await mailer.release())[1] == "Verify your e-mail address"

        ask = {"email": "ada@example.com"}
        known = await asyncio.wait_for(
            http.post("/api/user/request-reset-email", json=ask), TIMEOUT
        )
        unknown = await http.post("/api/user/request-reset-email", json={"email": "x@example.com"})
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert (await mailer.release())[1] == "Reset your password"

        again = await asyncio.wait_for(register(http, "ada@example.com", PASSWORD), TIMEOUT)
        assert again.json() == r.json()
        assert (await mailer.release())[1] == "Someone tried to register with your e-mail address"
    assert len(mailer.sent) == 3
