"""Schemathesis over `/openapi.json`: generated requests (valid and invalid) to every
operation find no 5xx and no response that breaks the documented schema.

Runs on SQLite only: the app is served by schemathesis in its own event-loop thread with
its own engine (as `tickhub api` does), so it does not use the per-test PostgreSQL
fixtures. Bounded and seeded: a fixed number of examples per operation, derandomized, so
a run is reproducible and takes seconds. The WebSocket itself is not in the schema; its
HTTP stub (`GET /v1/stream`, 426) is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.python.asgi import get_client
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import response_schema_conformance

from tickhub.app import create_app
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.settings import GatewaySettings, Settings

T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in µs
MAX_EXAMPLES = 12  # per operation and run
USER = {"email": "fuzz@example.com", "password": "Fuzz-pass-4242-xyz"}


async def _prepare(url: str) -> None:
    """Schema, and some trades so that the read routes answer with data."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = Writer(engine)
        for exchange, symbol, price in (("binance", "BTCUSDT", 60_000.0), ("sim", "ETHUSDT", 3e3)):
            trades = tuple(
                Trade(i, T0 + i * 7_000_000, price + i % 17, 0.01 * (1 + i % 5), i % 2 == 0)
                for i in range(1, 400)
            )
            await writer.write(TradeBatch(exchange, symbol, trades, simulated=exchange == "sim"))
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Target:
    schema: BaseSchema
    user_headers: dict[str, str]


def _sign_in(app: object) -> dict[str, str]:
    """A verified user's bearer token, obtained over the API (seed 003 paths)."""
    with get_client(app) as client:  # type: ignore[arg-type]
        r = client.post("/api/user/register", json={**USER, "first_name": "F", "last_name": "Z"})
        assert r.status_code == 201, r.text
        link = r.json()["data"].get("verification_link")
        if link:
            assert client.get(urlsplit(link).path).status_code == 200
        r = client.post("/api/token", json=USER)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access']}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Target:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'tickhub.db'}"
    asyncio.run(_prepare(url))
    app_settings = Settings(
        _env_file=None,
        env="test",
        data_dir=tmp,
        database_url=url,
        sources=[],
        # The fuzzer sends hundreds of writes from one address; limits are tested apart.
        gateway=GatewaySettings(
            _env_file=None,
            rate_limit_login="",
            rate_limit_registration="",
            rate_limit_writes="",
            rate_limit_principal_writes="",
            rate_limit_account="",
        ),
    )
    app = create_app(app_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return Target(schema, _sign_in(app))


CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.mark.parametrize(
    ("mode", "signed_in"),
    [
        (GenerationMode.POSITIVE, False),  # private routes refuse, in their documented shape
        (GenerationMode.POSITIVE, True),
        (GenerationMode.NEGATIVE, True),
    ],
    ids=["anonymous-valid", "user-valid", "user-invalid"],
)
def test_api_answers_every_request_within_its_schema(
    target: Target, mode: GenerationMode, signed_in: bool
) -> None:
    headers = target.user_headers if signed_in else {}
    failures: list[str] = []
    operations = 0
    for result in target.schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"unusable operation in the schema: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            continue  # nothing invalid to send (an operation without inputs)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis groups its failures
            failures.append(f"{operation.label}:\n{exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
