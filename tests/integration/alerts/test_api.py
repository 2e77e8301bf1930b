"""`/v1/strategies` and `/v1/alerts` over HTTP on SQLite and PostgreSQL: CRUD, ownership,
every refusal (naming its field; hostile conditions with position and reason, nothing
stored or executed), secret redaction, and the alert history with its deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import store
from tests.fixtures.accounts import User, signup
from tickhub.alerts import service
from tickhub.alerts.repository import AlertsRepository
from tickhub.marketdata.events import Trade
from tickhub.runtime import Runtime

T0 = 1_764_000_000_000_000  # µs
MINUTE = 60_000_000
PROBLEM = "application/problem+json"
SECRET = "s3cret-webhook-signing-key"
STRATEGY = {
    "name": "RSI dip",
    "instruments": ["binance:BTCUSDT"],
    "interval": "15m",
    "condition": "rsi(14) < 30 and close > sma(close, 50)",
}


@pytest.fixture
async def markets(runtime: Runtime) -> None:
    """BTCUSDT on binance and sim, ETHUSDT on binance only."""
    trades = [Trade(i, T0 + i * 1_000_000, 100.0 + i, 1.0, False) for i in range(1, 4)]
    await store(runtime, "binance", "BTCUSDT", trades)
    await store(runtime, "binance", "ETHUSDT", trades)
    await store(runtime, "sim", "BTCUSDT", trades, simulated=True)


@pytest.fixture
async def alice(client: httpx.AsyncClient, markets: None) -> User:
    return await signup(client, "alice@example.com")


@pytest.fixture
async def bob(client: httpx.AsyncClient, markets: None) -> User:
    return await signup(client, "bob@example.com")


async def create(client: httpx.AsyncClient, user: User, **fields: Any) -> dict[str, Any]:
    r = await client.post("/v1/strategies", json={**STRATEGY, **fields}, headers=user.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def strategies(client: httpx.AsyncClient, user: User) -> list[dict[str, Any]]:
    r = await client.get("/v1/strategies", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def refused(r: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    named = {body.get("field")} | {e.get("field") for e in body.get("errors") or []}
    assert field in named, body
    return body


# ---------------------------------------------------------------- strategies


async def test_create_read_update_delete(client: httpx.AsyncClient, alice: User) -> None:
    r = await client.post("/v1/strategies", json=STRATEGY, headers=alice.headers)
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == f"/v1/strategies/{made['id']}"
    assert made["name"] == STRATEGY["name"]
    assert made["instruments"] == ["binance:BTCUSDT"]
    assert (made["interval"], made["interval_s"]) == ("15m", 900)
    assert made["condition"] == STRATEGY["condition"]
    assert made["canonical"] == "((rsi(14) < 30) and (close > sma(close, 50)))"
    assert (made["cooldown_s"], made["channels"], made["active"]) == (300, [], True)
    assert made["created_at"].endswith("Z") and made["created_at"] == made["updated_at"]

    got = await client.get(r.headers["location"], headers=alice.headers)
    assert got.status_code == 200 and got.json() == made

    r = await client.patch(
        r.headers["location"],
        json={"name": "Renamed", "cooldown_s": 3600, "active": False, "interval": "60m"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["name"], changed["cooldown_s"], changed["active"]) == ("Renamed", 3600, False)
    assert (changed["interval"], changed["interval_s"]) == ("1h", 3600)
    assert changed["condition"] == made["condition"]  # not sent, not changed
    assert changed["instruments"] == made["instruments"]
    assert changed["updated_at"] >= made["updated_at"]

    assert [s["id"] for s in await strategies(client, alice)] == [made["id"]]
    r = await client.delete(f"/v1/strategies/{made['id']}", headers=alice.headers)
    assert r.status_code == 204
    refused(
        await client.get(f"/v1/strategies/{made['id']}", headers=alice.headers), 404, "strategy_id"
    )
    assert await strategies(client, alice) == []


async def test_list_is_paginated(client: httpx.AsyncClient, alice: User) -> None:
    ids = [(await create(client, alice, name=f"s{n}"))["id"] for n in range(3)]
    first = (await client.get("/v1/strategies?limit=2", headers=alice.headers)).json()
    assert [s["id"] for s in first["items"]] == ids[:2]
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    rest = (await client.get("/v1/strategies?limit=2&offset=2", headers=alice.headers)).json()
    assert [s["id"] for s in rest["items"]] == ids[2:]


async def test_instruments_are_resolved_normalised_and_deduplicated(
    client: httpx.AsyncClient, alice: User
) -> None:
    made = await create(
        client,
        alice,
        instruments=["BINANCE:btc-usdt", "ETHUSDT", "binance:BTCUSDT", "sim:BTC-USDT"],
    )
    assert made["instruments"] == ["binance:BTCUSDT", "binance:ETHUSDT", "sim:BTCUSDT"]


@pytest.mark.parametrize(
    ("instruments", "field"),
    [
        (["binance:BTCUSDT", "binance:NOPEUSDT"], "instruments.1"),
        (["kraken:BTCUSDT"], "instruments.0"),
        (["BTCUSDT"], "instruments.0"),  # on binance and sim: ambiguous
        (["binance:ETHUSDT", ":BTCUSDT"], "instruments.1"),
        (["binance:"], "instruments.0"),
        ([], "instruments"),
        (["binance:BTCUSDT"] * 101, "instruments"),
        ("binance:BTCUSDT", "instruments"),
    ],
)
async def test_bad_instruments_are_refused(
    client: httpx.AsyncClient, alice: User, instruments: Any, field: str
) -> None:
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "instruments": instruments}, headers=alice.headers
    )
    refused(r, 422, field)
    assert await strategies(client, alice) == []


@pytest.mark.parametrize(
    ("interval", "canonical", "seconds"),
    [("1m", "1m", 60), ("5m", "5m", 300), ("90m", "90m", 5400), ("120m", "2h", 7200),
     ("4h", "4h", 14400), ("24h", "1d", 86400), ("1d", "1d", 86400), ("3600s", "1h", 3600)],
)  # fmt: skip
async def test_intervals_are_kept_in_canonical_form(
    client: httpx.AsyncClient, alice: User, interval: str, canonical: str, seconds: int
) -> None:
    made = await create(client, alice, interval=interval)
    assert (made["interval"], made["interval_s"]) == (canonical, seconds)


@pytest.mark.parametrize("interval", ["30s", "90s", "2d", "1w", "1M", "0m", "fast", "", "1.5h"])
async def test_bad_intervals_are_refused(
    client: httpx.AsyncClient, alice: User, interval: str
) -> None:
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "interval": interval}, headers=alice.headers
    )
    refused(r, 422, "interval")
    assert await strategies(client, alice) == []


HOSTILE = [
    "__import__('os')",
    "__import__(os)",
    "close.__class__",
    "close.__class__.__mro__[1].__subclasses__()",
    "a" * 10_000,
    "(" * 500 + "close" + ")" * 500 + " > 1",
    "(" * 400 + "close" + ")" * 400 + " > 1",  # short enough, too deep
    " or ".join(["close > 1"] * 150),  # short enough, too many nodes
    "rsi()",
    "rsi(14, 15, 16)",
    "foo(1)",
    "eval('1')",
    "close > 1; import os",
    "lambda: 1",
    "close",  # a number, not a condition
    "rsi(14) <",
    "",
]


@pytest.mark.parametrize("condition", HOSTILE, ids=lambda c: c[:24] or "empty")
async def test_hostile_and_wrong_conditions_are_refused_with_position_and_reason(
    client: httpx.AsyncClient, alice: User, condition: str
) -> None:
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "condition": condition}, headers=alice.headers
    )
    body = refused(r, 422, "condition")
    if condition:  # the empty string is refused by its length, before the parser
        assert isinstance(body["position"], int)
        assert 0 <= body["position"] <= len(condition)
        assert body["reason"] and body["reason"] in body["detail"]
        check = await client.post(
            "/v1/strategies/check", json={"condition": condition}, headers=alice.headers
        )
        assert refused(check, 422, "condition")["position"] == body["position"]
    assert await strategies(client, alice) == []


@pytest.mark.parametrize(
    ("condition", "at", "words"),
    [
        ("close.__class__", "close".__len__(), "'.'"),
        ("__import__('os')", "__import__(".__len__(), "'"),
        ("foo(1)", 0, "foo"),
        ("rsi()", 0, "got 0 arguments"),
        ("rsi(14, 15, 16)", 0, "got 3 arguments"),
    ],
)
async def test_the_position_points_at_the_fault(
    client: httpx.AsyncClient, alice: User, condition: str, at: int, words: str
) -> None:
    r = await client.post(
        "/v1/strategies/check", json={"condition": condition}, headers=alice.headers
    )
    body = refused(r, 422, "condition")
    assert body["position"] == at
    assert words in body["reason"]


async def test_a_bad_condition_in_a_patch_changes_nothing(
    client: httpx.AsyncClient, alice: User
) -> None:
    made = await create(client, alice)
    r = await client.patch(
        f"/v1/strategies/{made['id']}",
        json={"condition": "close.__class__", "name": "changed"},
        headers=alice.headers,
    )
    assert refused(r, 422, "condition")["position"] == len("close")
    assert (await strategies(client, alice)) == [made]


async def test_check_gives_the_canonical_form_and_what_is_used(
    client: httpx.AsyncClient, alice: User
) -> None:
    condition = "crosses_above(ema(close, 12), ema(close, 26)) and atr(14) > 2 * stddev(high, 20)"
    r = await client.post(
        "/v1/strategies/check", json={"condition": condition}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["condition"] == condition
    assert body["functions"] == ["atr", "crosses_above", "ema", "stddev"]
    assert body["series"] == ["close", "high", "low"]
    assert body["lookback"] > 26
    again = await client.post(
        "/v1/strategies/check", json={"condition": body["canonical"]}, headers=alice.headers
    )
    assert again.json()["canonical"] == body["canonical"]  # the canonical form is a fixpoint
    assert await strategies(client, alice) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"cooldown_s": -1}, "cooldown_s"),
        ({"cooldown_s": 0}, "cooldown_s"),
        ({"cooldown_s": 299}, "cooldown_s"),
        ({"cooldown_s": 30 * 86400 + 1}, "cooldown_s"),
        ({"active": "maybe"}, "active"),
        ({"owner": "someone"}, "owner"),
        ({"channels": [{"type": "sms", "to": "+100"}]}, "channels.0"),
        ({"channels": [{"type": "webhook", "url": "ftp://example.com/x", "secret": SECRET}]},
         "channels.0.webhook.url"),
        ({"channels": [{"type": "webhook", "url": "not a url", "secret": SECRET}]},
         "channels.0.webhook.url"),
        ({"channels": [{"type": "webhook", "url": "https://example.com/x", "secret": "short"}]},
         "channels.0.webhook.secret"),
        ({"channels": [{"type": "webhook", "url": "https://example.com/x"}]},
         "channels.0.webhook.secret"),
        ({"channels": [{"type": "telegram", "chat_id": "not a chat"}]},
         "channels.0.telegram.chat_id"),
        ({"channels": [{"type": "email", "to": "nobody"}]}, "channels.0.email.to"),
        ({"channels": [{"type": "email", "to": f"a{n}@example.com"} for n in range(11)]},
         "channels"),
    ],
)  # fmt: skip
async def test_bad_fields_are_refused_by_name(
    client: httpx.AsyncClient, alice: User, fields: dict[str, Any], field: str
) -> None:
    r = await client.post("/v1/strategies", json={**STRATEGY, **fields}, headers=alice.headers)
    refused(r, 422, field)
    assert await strategies(client, alice) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5432/",
        "http://0x7f000001/",
        "http://[::1]:8000/",
        "http://user:pw@rabbitmq:15672/api/",
        "http://10.0.0.7/hook",
    ],
)
async def test_webhooks_into_the_network_are_refused_when_saved(
    client: httpx.AsyncClient, alice: User, url: str
) -> None:
    hook = {"type": "webhook", "url": url, "secret": SECRET}
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "channels": [hook]}, headers=alice.headers
    )
    refused(r, 422, "channels.0.webhook.url")
    made = await create(client, alice)
    r = await client.patch(
        f"/v1/strategies/{made['id']}", json={"channels": [hook]}, headers=alice.headers
    )
    refused(r, 422, "channels.0.webhook.url")
    assert await strategies(client, alice) == [made]


async def test_a_patch_may_not_null_a_field(client: httpx.AsyncClient, alice: User) -> None:
    made = await create(client, alice)
    r = await client.patch(
        f"/v1/strategies/{made['id']}", json={"condition": None}, headers=alice.headers
    )
    assert r.status_code == 422, r.text
    assert "condition" in r.json()["detail"] or "condition" in str(r.json()["errors"])
    assert await strategies(client, alice) == [made]


async def test_names_are_unique_per_user(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    first = await create(client, alice)
    r = await client.post("/v1/strategies", json=STRATEGY, headers=alice.headers)
    refused(r, 409, "name")
    await create(client, bob)  # the same name is another user's to use
    other = await create(client, alice, name="Other")
    r = await client.patch(
        f"/v1/strategies/{other['id']}", json={"name": STRATEGY["name"]}, headers=alice.headers
    )
    refused(r, 409, "name")
    assert [s["id"] for s in await strategies(client, alice)] == [first["id"], other["id"]]


async def test_the_number_of_strategies_is_limited(
    client: httpx.AsyncClient, runtime: Runtime, alice: User
) -> None:
    now = datetime.now(UTC)
    async with runtime.engine.begin() as conn:
        repo = AlertsRepository(conn)
        for n in range(service.MAX_STRATEGIES):
            await repo.add_strategy(
                {
                    "user_id": alice.id,
                    "name": f"bulk {n}",
                    "instruments": ["binance:BTCUSDT"],
                    "interval": "1m",
                    "interval_s": 60,
                    "condition": "close > 1",
                    "cooldown_s": 0,
                    "channels": [],
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    r = await client.post("/v1/strategies", json=STRATEGY, headers=alice.headers)
    assert r.status_code == 409, r.text
    assert str(service.MAX_STRATEGIES) in r.json()["detail"]
    total = (await client.get("/v1/strategies?limit=1", headers=alice.headers)).json()["total"]
    assert total == service.MAX_STRATEGIES


async def test_other_users_strategies_are_invisible(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    made = await create(client, alice)
    path = f"/v1/strategies/{made['id']}"
    refused(await client.get(path, headers=bob.headers), 404, "strategy_id")
    refused(
        await client.patch(path, json={"active": False}, headers=bob.headers), 404, "strategy_id"
    )
    refused(await client.delete(path, headers=bob.headers), 404, "strategy_id")
    assert await strategies(client, bob) == []
    assert await strategies(client, alice) == [made]


async def test_credentials_are_required(client: httpx.AsyncClient, markets: None) -> None:
    assert (await client.get("/v1/strategies")).status_code == 401
    assert (await client.post("/v1/strategies", json=STRATEGY)).status_code == 401
    assert (await client.get("/v1/alerts")).status_code == 401
    check = await client.post("/v1/strategies/check", json={"condition": "close > 1"})
    assert check.status_code == 401


async def test_webhook_secrets_are_never_shown_and_kept_by_url(
    client: httpx.AsyncClient, runtime: Runtime, alice: User
) -> None:
    hook = {"type": "webhook", "url": "https://example.com/hook", "secret": SECRET}
    channels = [
        hook,
        {"type": "telegram", "chat_id": -1001234567890},
        {"type": "telegram", "chat_id": "@my_alerts"},
        {"type": "email", "to": "Alice@Example.com"},
    ]
    r = await client.post(
        "/v1/strategies", json={**STRATEGY, "channels": channels}, headers=alice.headers
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["channels"] == [
        {"type": "webhook", "url": "https://example.com/hook", "secret_set": True},
        {"type": "telegram", "chat_id": "-1001234567890"},
        {"type": "telegram", "chat_id": "@my_alerts"},
        {"type": "email", "to": "alice@example.com"},
    ]
    path = f"/v1/strategies/{made['id']}"
    for answer in (
        r,
        await client.get(path, headers=alice.headers),
        await client.get("/v1/strategies", headers=alice.headers),
    ):
        assert SECRET not in answer.text and '"secret"' not in answer.text

    async def stored_channels() -> list[dict[str, Any]]:
        async with runtime.engine.connect() as conn:
            record = await AlertsRepository(conn).strategy(made["id"], alice.id)
        assert record is not None
        return record.channels

    assert (await stored_channels())[0]["secret"] == SECRET

    # sent back as shown (without the secret): the secret stays
    kept = [{"type": "webhook", "url": "https://example.com/hook"}, channels[3]]
    r = await client.patch(path, json={"channels": kept}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["channels"][0]["secret_set"] is True and SECRET not in r.text
    assert (await stored_channels())[0]["secret"] == SECRET

    # a new URL needs its own secret
    moved = [{"type": "webhook", "url": "https://example.com/other"}]
    r = await client.patch(path, json={"channels": moved}, headers=alice.headers)
    refused(r, 422, "channels.0.webhook.secret")
    assert (await stored_channels())[0]["secret"] == SECRET

    fresh = "a-brand-new-secret-value"
    moved[0]["secret"] = fresh
    r = await client.patch(path, json={"channels": moved}, headers=alice.headers)
    assert r.status_code == 200 and fresh not in r.text
    assert await stored_channels() == [
        {"type": "webhook", "url": "https://example.com/other", "secret": fresh}
    ]


# ---------------------------------------------------------------- alerts


async def add_alert(
    runtime: Runtime,
    user: User,
    *,
    strategy: dict[str, Any] | None,
    exchange: str = "binance",
    symbol: str = "BTCUSDT",
    minute: int = 0,
    deliveries: int = 0,
) -> int:
    start = T0 + minute * MINUTE
    raised = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    async with runtime.engine.begin() as conn:
        repo = AlertsRepository(conn)
        alert_id = await repo.add_alert(
            {
                "user_id": user.id,
                "strategy_id": strategy["id"] if strategy else None,
                "strategy_name": strategy["name"] if strategy else "gone",
                "exchange": exchange,
                "symbol": symbol,
                "interval": "1m",
                "candle_start": start,
                "candle_close": start + MINUTE,
                "condition": strategy["condition"] if strategy else "close > 1",
                "values": {"close": 101.5 + minute, "rsi(14)": 25.0, "sma(close, 50)": None},
                "close": 101.5 + minute,
                "raised_at": raised,
            }
        )
        for n in range(deliveries):
            await repo.add_delivery(
                {
                    "alert_id": alert_id,
                    "channel": "webhook" if n == 0 else "email",
                    "target": "https://example.com/hook" if n == 0 else "a@example.com",
                    "status": "sent" if n == 0 else "failed",
                    "attempts": 1 if n == 0 else 5,
                    "last_error": None if n == 0 else "550 mailbox unavailable",
                    "response_status": 200 if n == 0 else None,
                    "created_at": raised,
                    "next_attempt_at": raised,
                    "delivered_at": raised + timedelta(seconds=1) if n == 0 else None,
                }
            )
    return alert_id


async def alert_ids(client: httpx.AsyncClient, user: User, query: str = "") -> list[int]:
    r = await client.get(f"/v1/alerts{query}", headers=user.headers)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["items"]]


async def test_alert_history_is_the_callers_newest_first_with_filters(
    client: httpx.AsyncClient, runtime: Runtime, alice: User, bob: User
) -> None:
    rsi = await create(client, alice)
    other = await create(client, alice, name="ETH", instruments=["binance:ETHUSDT"])
    a0 = await add_alert(runtime, alice, strategy=rsi, minute=0)
    a1 = await add_alert(runtime, alice, strategy=other, symbol="ETHUSDT", minute=1)
    a2 = await add_alert(runtime, alice, strategy=rsi, exchange="sim", minute=2)
    a3 = await add_alert(runtime, alice, strategy=rsi, minute=3)
    b0 = await add_alert(runtime, bob, strategy=None, minute=1)

    assert await alert_ids(client, alice) == [a3, a2, a1, a0]
    assert await alert_ids(client, bob) == [b0]
    assert await alert_ids(client, alice, f"?strategy_id={other['id']}") == [a1]
    assert await alert_ids(client, alice, "?exchange=SIM") == [a2]
    assert await alert_ids(client, alice, "?symbol=BTC-USDT") == [a3, a2, a0]
    assert await alert_ids(client, alice, "?exchange=binance&symbol=btcusdt") == [a3, a0]
    closes = [T0 + (m + 1) * MINUTE for m in range(4)]
    since = f"?start={closes[1] // 1000}&end={closes[3] // 1000}"  # epoch ms
    assert await alert_ids(client, alice, since) == [a2, a1]

    page = (await client.get("/v1/alerts?limit=3", headers=alice.headers)).json()
    assert [a["id"] for a in page["items"]] == [a3, a2, a1]
    rest = await client.get(
        "/v1/alerts", params={"limit": 3, "cursor": page["next_cursor"]}, headers=alice.headers
    )
    assert [a["id"] for a in rest.json()["items"]] == [a0]
    assert rest.json()["next_cursor"] is None

    first = page["items"][0]
    assert first == {
        "id": a3,
        "strategy_id": rsi["id"],
        "strategy_name": rsi["name"],
        "instrument": {"exchange": "binance", "symbol": "BTCUSDT"},
        "interval": "1m",
        "candle_start": first["candle_start"],
        "candle_close": first["candle_close"],
        "condition": rsi["condition"],
        "values": {"close": 104.5, "rsi(14)": 25.0, "sma(close, 50)": None},
        "close": 104.5,
        "raised_at": "2026-01-01T00:03:00.000000Z",
    }
    start = datetime.fromisoformat(first["candle_start"].replace("Z", "+00:00"))
    close = datetime.fromisoformat(first["candle_close"].replace("Z", "+00:00"))
    assert first["candle_start"].endswith("Z") and close - start == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?cursor=nonsense", "cursor"),
        ("?cursor=YWxlcnQ6eA", "cursor"),  # "alert:x"
        ("?start=yesterday", "start"),
        ("?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "end"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?strategy_id=abc", "strategy_id"),
    ],
)
async def test_bad_alert_queries_are_refused(
    client: httpx.AsyncClient, alice: User, query: str, field: str
) -> None:
    refused(await client.get(f"/v1/alerts{query}", headers=alice.headers), 422, field)


async def test_alert_detail_has_its_deliveries_and_is_the_owners_only(
    client: httpx.AsyncClient, runtime: Runtime, alice: User, bob: User
) -> None:
    rsi = await create(client, alice)
    alert_id = await add_alert(runtime, alice, strategy=rsi, deliveries=2)
    r = await client.get(f"/v1/alerts/{alert_id}", headers=alice.headers)
    assert r.status_code == 200, r.text
    detail = r.json()
    listed = (await client.get("/v1/alerts", headers=alice.headers)).json()["items"][0]
    assert {k: v for k, v in detail.items() if k != "deliveries"} == listed
    assert [
        {k: d[k] for k in ("channel", "target", "status", "attempts", "last_error")}
        for d in detail["deliveries"]
    ] == [
        {
            "channel": "webhook",
            "target": "https://example.com/hook",
            "status": "sent",
            "attempts": 1,
            "last_error": None,
        },
        {
            "channel": "email",
            "target": "a@example.com",
            "status": "failed",
            "attempts": 5,
            "last_error": "550 mailbox unavailable",
        },
    ]
    assert detail["deliveries"][0]["delivered_at"] == "2026-01-01T00:00:01.000000Z"
    assert detail["deliveries"][1]["delivered_at"] is None

    refused(await client.get(f"/v1/alerts/{alert_id}", headers=bob.headers), 404, "alert_id")
    assert await alert_ids(client, bob) == []


async def test_deleting_a_strategy_keeps_its_alerts(
    client: httpx.AsyncClient, runtime: Runtime, alice: User
) -> None:
    rsi = await create(client, alice)
    alert_id = await add_alert(runtime, alice, strategy=rsi)
    r = await client.delete(f"/v1/strategies/{rsi['id']}", headers=alice.headers)
    assert r.status_code == 204
    kept = (await client.get(f"/v1/alerts/{alert_id}", headers=alice.headers)).json()
    assert (kept["strategy_id"], kept["strategy_name"]) == (None, rsi["name"])
