"""Integration fixtures beyond the shared ones (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.fixtures.accounts import FakeMailer
from tests.fixtures.clocks import FakeClock
from tickhub.accounts import service
from tickhub.app import create_app
from tickhub.runtime import Runtime
from tickhub.settings import AuthSettings, Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with Argon2 at OWASP's floor (19 MiB, 2 passes, 1 lane)
    rather than the default 64 MiB: still a real Argon2id, five times faster."""
    settings.auth = AuthSettings(
        _env_file=None,
        argon2_time_cost=2,
        argon2_memory_kib=19_456,
        argon2_parallelism=1,
    )
    return settings


@dataclass
class AccountsEnv:
    """The app with a mailer that keeps its mail and a clock the test moves."""

    client: httpx.AsyncClient
    clock: FakeClock
    mailer: FakeMailer
    runtime: Runtime


@pytest.fixture
async def accounts_env(runtime: Runtime) -> AsyncIterator[AccountsEnv]:
    app = create_app(runtime=runtime)
    clock, mailer = FakeClock(), FakeMailer()
    app.state.accounts = service.build_accounts(
        runtime.settings, runtime.engine, mailer=mailer, clock=clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield AccountsEnv(c, clock, mailer, runtime)
