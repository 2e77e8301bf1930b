"""The seed paths answer as the seeds did: seed 001 (tracker API) and seed 004
(crypto-ticker API, whose own tests are ported here as contract tests). Trades are stored
through the real writer at times in the past. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from tests.conftest import store
from tickhub.common.time import now_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import MINUTE
from tickhub.runtime import Runtime

S = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNSUPPORTED = "The given cryptocurrency pair {} is either not supported or invalid"


def this_minute() -> int:
    now = now_us()
    return now - now % MINUTE


def utc(ts: int) -> datetime:
    return EPOCH + timedelta(microseconds=ts)


def iso(ts: int) -> str:
    """Seed 004's datetime format."""
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%S")


def spaced(ts: int) -> str:
    """`str()` of a naive datetime, as the seed's messages print them."""
    return utc(ts).strftime("%Y-%m-%d %H:%M:%S")


def rfc822(ts: int) -> str:
    return utc(ts).strftime("%a, %d %b %Y %H:%M:%S GMT")


def q(value: str) -> str:
    """A datetime as `urlencode` writes it in a link."""
    return value.replace(":", "%3A")


# ================================================================ seed 004


class Contract:
    """Seed 004's test data: 1111.11, 2222.22 and 3333.33 one minute apart; collection
    starts with the first of them."""

    def __init__(self, base: int) -> None:
        self.t1 = base + 1 * MINUTE + 47 * S
        self.t2 = base + 2 * MINUTE + 47 * S
        self.t3 = base + 3 * MINUTE + 47 * S

    def item(self, trade_id: int, ts: int, price: float) -> dict[str, object]:
        return {"id": trade_id, "datetime": iso(ts), "symbol": "BTCUSDT", "price": price}


@pytest.fixture
async def contract(runtime: Runtime) -> Contract:
    c = Contract(this_minute() - 60 * MINUTE)
    trades = [Trade(1, c.t1, 1111.11, 0.5), Trade(2, c.t2, 2222.22, 0.5)]
    await store(runtime, "binance", "BTCUSDT", [*trades, Trade(3, c.t3, 3333.33, 0.5)])
    return c


async def test_current_price(client: httpx.AsyncClient, contract: Contract) -> None:
    r = await client.get("/api/current_price/", params={"symbol": "BTCUSDT"})
    assert r.status_code == 200
    assert r.json() == {"latest_price": 3333.33, "datetime": iso(contract.t3)}


async def test_current_price_accepts_base_quote_spelling(
    client: httpx.AsyncClient, contract: Contract
) -> None:
    r = await client.get("/api/current_price", params={"symbol": "BTC-USDT"})
    assert r.status_code == 200
    assert r.json()["latest_price"] == 3333.33


@pytest.mark.parametrize(
    ("params", "shown"), [({"symbol": "JUNK"}, "JUNK"), ({}, "None"), ({"symbol": ""}, "")]
)
async def test_current_price_unknown_or_missing_symbol(
    client: httpx.AsyncClient, contract: Contract, params: dict[str, str], shown: str
) -> None:
    r = await client.get("/api/current_price/", params=params)
    assert r.status_code == 400
    assert r.json() == {"detail": UNSUPPORTED.format(shown)}


async def test_list_price(client: httpx.AsyncClient, contract: Contract) -> None:
    c = contract
    r = await client.get(
        "/api/crypto_price/",
        params={"symbol": "BTCUSDT", "start_datetime": iso(c.t1), "end_datetime": iso(c.t2)},
    )
    assert r.status_code == 200
    assert r.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [c.item(1, c.t1, 1111.11), c.item(2, c.t2, 2222.22)],
    }


async def test_list_price_without_filters_lists_every_price(
    client: httpx.AsyncClient, contract: Contract
) -> None:
    c = contract
    r = await client.get("/api/crypto_price")
    assert r.status_code == 200
    assert r.json()["results"] == [
        c.item(1, c.t1, 1111.11),
        c.item(2, c.t2, 2222.22),
        c.item(3, c.t3, 3333.33),
    ]


async def test_list_price_accepts_utc_designator_and_offsets(
    client: httpx.AsyncClient, contract: Contract
) -> None:
    c = contract
    four_hours_east = utc(c.t2).astimezone(timezone(timedelta(hours=4))).isoformat()
    r = await client.get(
        "/api/crypto_price/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": iso(c.t1) + "Z",
            "end_datetime": four_hours_east,
        },
    )
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["results"]] == [1, 2]


async def test_list_price_unknown_symbol(client: httpx.AsyncClient, contract: Contract) -> None:
    r = await client.get(
        "/api/crypto_price/",
        params={
            "symbol": "JUNK",
            "start_datetime": iso(contract.t1),
            "end_datetime": iso(contract.t2),
        },
    )
    assert r.status_code == 400
    assert r.json() == {"detail": UNSUPPORTED.format("JUNK")}


async def test_list_price_start_before_collection(
    client: httpx.AsyncClient, contract: Contract
) -> None:
    r = await client.get(
        "/api/crypto_price/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": iso(contract.t1 - S),
            "end_datetime": iso(contract.t2),
        },
    )
    assert r.status_code == 400
    assert r.json() == {
        "detail": f"Data collection started from {spaced(contract.t1)}, "
        "but the specified start_datetime precedes that"
    }


async def test_list_price_end_not_in_the_past(
    client: httpx.AsyncClient, contract: Contract
) -> None:
    later = now_us() + 4 * MINUTE
    r = await client.get(
        "/api/crypto_price/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": iso(contract.t2),
            "end_datetime": iso(later),
        },
    )
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert re.fullmatch(
        re.escape(
            f"The specified end_datetime {spaced(later)} must be lesser than current datetime "
        )
        + r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?",
        detail,
    ), detail


async def test_list_price_start_after_end(client: httpx.AsyncClient, contract: Contract) -> None:
    c = contract
    r = await client.get(
        "/api/crypto_price/",
        params={"symbol": "BTCUSDT", "start_datetime": iso(c.t2), "end_datetime": iso(c.t1)},
    )
    assert r.status_code == 400
    assert r.json() == {
        "detail": f"The specified end_datetime {spaced(c.t1)} "
        f"fails to fall after the start_datetime {spaced(c.t2)}"
    }


async def test_statistics(client: httpx.AsyncClient, contract: Contract) -> None:
    c = contract
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={"symbol": "BTCUSDT", "start_datetime": iso(c.t1), "end_datetime": iso(c.t2)},
    )
    assert r.status_code == 200
    assert r.json() == {
        "crypto_prices": [c.item(1, c.t1, 1111.11), c.item(2, c.t2, 2222.22)],
        "total_count": 2,
        "average_price": 1666.665,
        "median_price": 1666.665,
        "standard_deviation": 555.555,
        "percentage_change": 100.0,
    }


async def test_statistics_without_symbol(client: httpx.AsyncClient, contract: Contract) -> None:
    r = await client.get(
        "/api/crypto_price/statistics",
        params={"start_datetime": iso(contract.t1), "end_datetime": iso(contract.t2)},
    )
    assert r.status_code == 400
    assert r.json() == {"detail": "symbol is a mandatory query param"}


async def test_statistics_no_matching_data(client: httpx.AsyncClient, contract: Contract) -> None:
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": iso(contract.t3 + 10 * S),
            "end_datetime": iso(contract.t3 + 20 * S),
        },
    )
    assert r.status_code == 400
    assert r.json() == {"detail": "No matching data found"}


@pytest.mark.parametrize("check", ["symbol", "start", "end", "order"])
async def test_statistics_runs_the_list_checks(
    client: httpx.AsyncClient, contract: Contract, check: str
) -> None:
    c = contract
    params = {"symbol": "BTCUSDT", "start_datetime": iso(c.t1), "end_datetime": iso(c.t2)}
    if check == "symbol":
        params["symbol"] = "JUNK"
        expected = UNSUPPORTED.format("JUNK")
    elif check == "start":
        params["start_datetime"] = iso(c.t1 - MINUTE)
        expected = (
            f"Data collection started from {spaced(c.t1)}, "
            "but the specified start_datetime precedes that"
        )
    elif check == "end":
        later = now_us() + MINUTE
        params["end_datetime"] = iso(later)
        expected = f"The specified end_datetime {spaced(later)} must be lesser than current"
    else:
        params["start_datetime"], params["end_datetime"] = iso(c.t2), iso(c.t1)
        expected = (
            f"The specified end_datetime {spaced(c.t1)} "
            f"fails to fall after the start_datetime {spaced(c.t2)}"
        )
    r = await client.get("/api/crypto_price/statistics/", params=params)
    assert r.status_code == 400
    assert r.json()["detail"].startswith(expected)


@pytest.mark.parametrize("path", ["/api/crypto_price/", "/api/crypto_price/statistics/"])
@pytest.mark.parametrize("field", ["start_datetime", "end_datetime"])
@pytest.mark.parametrize(
    "value",
    ["2024-13-01T00:00:00", "2024-04-01T25:00:00", "yesterday", "2024-04-01T10:00:00+99:00"],
)
async def test_malformed_datetime_is_a_400_naming_it(
    client: httpx.AsyncClient, contract: Contract, path: str, field: str, value: str
) -> None:
    c = contract
    params = {"symbol": "BTCUSDT", "start_datetime": iso(c.t1), "end_datetime": iso(c.t2)}
    params[field] = value
    r = await client.get(path, params=params)
    assert r.status_code == 400
    body = r.json()
    assert list(body) == ["detail"]
    assert field in body["detail"] and value in body["detail"]


async def test_empty_datetimes_are_no_filter(client: httpx.AsyncClient, contract: Contract) -> None:
    r = await client.get(
        "/api/crypto_price/",
        params={"symbol": "BTCUSDT", "start_datetime": "", "end_datetime": ""},
    )
    assert r.status_code == 200
    assert r.json()["count"] == 3


async def test_times_are_compared_at_whole_seconds(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = this_minute() - 30 * MINUTE
    await store(
        runtime,
        "binance",
        "ETHUSDT",
        [Trade(1, t, 10.0, 1), Trade(2, t + S + S // 2, 11.0, 1), Trade(3, t + 2 * S, 12.0, 1)],
    )
    r = await client.get(
        "/api/crypto_price/",
        params={"symbol": "ETHUSDT", "start_datetime": iso(t), "end_datetime": iso(t + S)},
    )
    assert r.status_code == 200
    assert r.json()["results"] == [
        {"id": 1, "datetime": iso(t), "symbol": "ETHUSDT", "price": 10.0},
        {"id": 2, "datetime": iso(t + S), "symbol": "ETHUSDT", "price": 11.0},
    ]


async def test_without_symbol_every_market_once_live_before_simulated(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    t = this_minute() - 30 * MINUTE
    await store(
        runtime, "binance", "BTCUSDT", [Trade(7, t, 100.0, 1), Trade(8, t + 2 * S, 101.0, 1)]
    )
    await store(runtime, "binance", "ETHUSDT", [Trade(5, t + S, 10.0, 1)])
    await store(runtime, "sim", "BTCUSDT", [Trade(1, t + S, 999.0, 1)], simulated=True)
    r = await client.get("/api/crypto_price/", params={"end_datetime": iso(t + 10 * S)})
    assert r.status_code == 200
    assert r.json()["results"] == [
        {"id": 7, "datetime": iso(t), "symbol": "BTCUSDT", "price": 100.0},
        {"id": 5, "datetime": iso(t + S), "symbol": "ETHUSDT", "price": 10.0},
        {"id": 8, "datetime": iso(t + 2 * S), "symbol": "BTCUSDT", "price": 101.0},
    ]


class TestPagination:
    @pytest.fixture
    async def five(self, runtime: Runtime) -> tuple[str, str]:
        t = this_minute() - 20 * MINUTE
        await store(
            runtime,
            "binance",
            "ETHUSDT",
            [Trade(100 + i, t + i * S, 10.0 + i, 1) for i in range(5)],
        )
        return iso(t), iso(t + 10 * S)

    async def test_next_and_previous_across_pages(
        self, client: httpx.AsyncClient, five: tuple[str, str]
    ) -> None:
        start, end = five
        link = (
            f"http://testserver/api/crypto_price/?end_datetime={q(end)}&limit=2{{}}"
            f"&start_datetime={q(start)}&symbol=ETHUSDT"
        )
        r = await client.get(
            "/api/crypto_price",
            params={
                "symbol": "ETHUSDT",
                "start_datetime": start,
                "end_datetime": end,
                "limit": "2",
            },
        )
        page = r.json()
        assert (page["count"], page["previous"]) == (5, None)
        assert [p["id"] for p in page["results"]] == [100, 101]
        assert page["next"] == link.format("&offset=2")

        page = (await client.get(page["next"])).json()
        assert [p["id"] for p in page["results"]] == [102, 103]
        assert page["next"] == link.format("&offset=4")
        assert page["previous"] == link.format("")

        page = (await client.get(page["next"])).json()
        assert [p["id"] for p in page["results"]] == [104]
        assert page["next"] is None
        assert page["previous"] == link.format("&offset=2")

        page = (await client.get(page["previous"])).json()
        assert [p["id"] for p in page["results"]] == [102, 103]

    async def test_offset_past_the_end_is_an_empty_page(
        self, client: httpx.AsyncClient, five: tuple[str, str]
    ) -> None:
        r = await client.get("/api/crypto_price/?symbol=ETHUSDT&limit=2&offset=9")
        page = r.json()
        assert (page["count"], page["results"], page["next"]) == (5, [], None)
        assert (
            page["previous"]
            == "http://testserver/api/crypto_price/?limit=2&offset=7&symbol=ETHUSDT"
        )

    @pytest.mark.parametrize(
        ("param", "value"),
        [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "ten"),
            ("limit", "1.5"),
            ("offset", "-1"),
            ("offset", "x"),
        ],
    )
    async def test_bad_limit_or_offset_is_a_400_naming_it(
        self, client: httpx.AsyncClient, five: tuple[str, str], param: str, value: str
    ) -> None:
        r = await client.get("/api/crypto_price/", params={"symbol": "ETHUSDT", param: value})
        assert r.status_code == 400
        assert r.json()["detail"].startswith(f"Invalid {param} {value!r}")


async def test_default_page_size_is_50(client: httpx.AsyncClient, runtime: Runtime) -> None:
    t = this_minute() - 40 * MINUTE
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, t + i * S, 1.0 + i, 1) for i in range(1, 52)]
    )
    page = (await client.get("/api/crypto_price/", params={"symbol": "BTCUSDT"})).json()
    assert page["count"] == 51
    assert [p["id"] for p in page["results"]] == list(range(1, 51))
    assert page["next"] == "http://testserver/api/crypto_price/?limit=50&offset=50&symbol=BTCUSDT"
    last = (await client.get(page["next"])).json()
    assert [p["id"] for p in last["results"]] == [51]
    assert last["previous"] == "http://testserver/api/crypto_price/?limit=50&symbol=BTCUSDT"


# ================================================================ seed 001


@pytest.fixture
async def markets(runtime: Runtime) -> int:
    """BTCUSDT, ETHUSDT and BNBBTC on binance; BTC-USD on coinbase. Returns this minute."""
    m = this_minute()
    await store(
        runtime,
        "binance",
        "BTCUSDT",
        [
            Trade(9, m - 200 * MINUTE + 5 * S, 99.0, 1),
            Trade(10, m - 5 * MINUTE + 10 * S, 100.5, 1),
            Trade(11, m - 5 * MINUTE + 20 * S, 101.25, 1),
            Trade(12, m - 3 * MINUTE + 5 * S, 102.0, 1),
        ],
    )
    await store(runtime, "binance", "ETHUSDT", [Trade(1, m - 4 * MINUTE, 3000.0, 1)])
    await store(runtime, "binance", "BNBBTC", [Trade(1, m - 4 * MINUTE, 0.00001234, 1)])
    await store(runtime, "coinbase", "BTC-USD", [Trade(1, m - 4 * MINUTE, 100.0, 1)])
    return m


async def test_symbols(client: httpx.AsyncClient, markets: int) -> None:
    r = await client.get("/symbols")
    assert r.status_code == 200
    assert r.json() == {
        "data": [
            {"coin": "bitcoin", "symbol": "BTC"},
            {"coin": "bnb", "symbol": "BNB"},
            {"coin": "ethereum", "symbol": "ETH"},
        ]
    }


async def test_exchanges(client: httpx.AsyncClient, markets: int) -> None:
    r = await client.get("/exchanges")
    assert r.status_code == 200
    assert r.json() == {
        "data": [
            {
                "exchange": "binance",
                "country": "Malta",
                "name": "Binance",
                "capabilities": {"trade_ids": True, "backfill": True, "transport": "websocket"},
            },
            {
                "exchange": "coinbase",
                "country": "United States",
                "name": "Coinbase Exchange",
                "capabilities": {"trade_ids": True, "backfill": True, "transport": "websocket"},
            },
        ]
    }


@pytest.mark.parametrize(
    ("coin", "exchange", "expected"),
    [
        ("bitcoin", "binance", [("BTCUSDT", "binance", "bitcoin")]),
        ("BTC", "Binance", [("BTCUSDT", "binance", "bitcoin")]),
        ("bitcoin", "coinbase", [("BTC-USD", "coinbase", "bitcoin")]),
        ("bnb", "binance", [("BNBBTC", "binance", "bnb")]),
        ("tether", "binance", []),
        ("dogecoin", "binance", []),
        ("bitcoin", "kraken", []),
    ],
)
async def test_tickers(
    client: httpx.AsyncClient,
    markets: int,
    coin: str,
    exchange: str,
    expected: list[tuple[str, str, str]],
) -> None:
    r = await client.get(f"/tickers/{coin}/{exchange}")
    assert r.status_code == 200
    assert r.json() == {"data": [{"ticker": t, "exchange": e, "coin": c} for t, e, c in expected]}


async def test_price_history_minutes(client: httpx.AsyncClient, markets: int) -> None:
    m = markets
    r = await client.get("/price-history-minutes/120%20minute/BTCUSDT")
    assert r.status_code == 200
    assert r.json() == {
        "data": [
            {"ticker": "BTCUSDT", "price": "102.0", "date": rfc822(m - 3 * MINUTE)},
            {"ticker": "BTCUSDT", "price": "101.25", "date": rfc822(m - 5 * MINUTE)},
        ]
    }
    assert re.fullmatch(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
        r"\d{4} \d\d:\d\d:00 GMT",
        r.json()["data"][0]["date"],
    )


async def test_price_history_longer_window_and_limit(
    client: httpx.AsyncClient, markets: int
) -> None:
    m = markets
    r = await client.get("/price-history-minutes/2880 minutes/BTCUSDT")
    assert [p["date"] for p in r.json()["data"]] == [
        rfc822(m - 3 * MINUTE),
        rfc822(m - 5 * MINUTE),
        rfc822(m - 200 * MINUTE),
    ]
    r = await client.get("/price-history-minutes/2880%20minutes/BTCUSDT", params={"limit": "1"})
    assert r.json() == {
        "data": [{"ticker": "BTCUSDT", "price": "102.0", "date": rfc822(m - 3 * MINUTE)}]
    }


async def test_price_history_window_past_one_read(client: httpx.AsyncClient, markets: int) -> None:
    """A window of many read spans (10 years of minutes) with a limit still finds the
    newest points and stops there."""
    m = markets
    r = await client.get("/price-history-minutes/3650 days/BTCUSDT", params={"limit": "3"})
    assert [p["date"] for p in r.json()["data"]] == [
        rfc822(m - 3 * MINUTE),
        rfc822(m - 5 * MINUTE),
        rfc822(m - 200 * MINUTE),
    ]


async def test_price_history_ticker_spellings_and_unknown(
    client: httpx.AsyncClient, markets: int
) -> None:
    plain = (await client.get("/price-history-minutes/120 minute/BTCUSDT")).json()
    dashed = (await client.get("/price-history-minutes/120 minute/BTC-USDT")).json()
    assert plain == dashed and len(plain["data"]) == 2
    r = await client.get("/price-history-minutes/120 minute/NOPEUSDT")
    assert (r.status_code, r.json()) == (200, {"data": []})


async def test_price_history_prices_are_plain_decimal_strings(
    client: httpx.AsyncClient, markets: int
) -> None:
    r = await client.get("/price-history-minutes/1 hour/BNBBTC")
    assert [p["price"] for p in r.json()["data"]] == ["0.00001234"]


@pytest.mark.parametrize(
    "window",
    [
        "abc",
        "120",
        "minute",
        "0 minutes",
        "-5 minutes",
        "1 fortnight",
        "99999999999999999999 days",
        "3661 days",
        " ",
    ],
)
async def test_malformed_window_is_a_400_naming_it(
    client: httpx.AsyncClient, markets: int, window: str
) -> None:
    r = await client.get(f"/price-history-minutes/{window}/BTCUSDT")
    assert r.status_code == 400
    body = r.json()
    assert list(body) == ["error"] and "window" in body["error"]


@pytest.mark.parametrize("limit", ["0", "-3", "x", "2.5", "10001", "1e3"])
async def test_bad_history_limit_is_a_400_naming_it(
    client: httpx.AsyncClient, markets: int, limit: str
) -> None:
    r = await client.get("/price-history-minutes/120 minute/BTCUSDT", params={"limit": limit})
    assert r.status_code == 400
    assert list(r.json()) == ["error"] and "limit" in r.json()["error"]


# ================================================================ both seeds


@pytest.mark.parametrize(
    "path",
    [
        "/symbols",
        "/exchanges",
        "/tickers/bitcoin/binance",
        "/price-history-minutes/120%20minute/BTCUSDT",
        "/api/current_price?symbol=BTCUSDT",
        "/api/crypto_price?symbol=BTCUSDT",
        "/api/crypto_price/statistics?symbol=BTCUSDT",
    ],
)
async def test_paths_with_and_without_trailing_slash(
    client: httpx.AsyncClient, markets: int, path: str
) -> None:
    bare, _, query = path.partition("?")
    slashed = bare + "/" + ("?" + query if query else "")
    a, b = await client.get(path), await client.get(slashed)
    assert (a.status_code, b.status_code) == (200, 200)
    assert a.json() == b.json()


async def test_empty_store(client: httpx.AsyncClient) -> None:
    assert (await client.get("/symbols")).json() == {"data": []}
    assert (await client.get("/exchanges")).json() == {"data": []}
    assert (await client.get("/tickers/bitcoin/binance")).json() == {"data": []}
    assert (await client.get("/price-history-minutes/1 hour/BTCUSDT")).json() == {"data": []}
    r = await client.get("/api/crypto_price/")
    assert r.json() == {"count": 0, "next": None, "previous": None, "results": []}
    r = await client.get("/api/crypto_price/statistics/?symbol=BTCUSDT")
    assert r.status_code == 400


async def test_empty_limit_and_offset_are_the_defaults(
    client: httpx.AsyncClient, markets: int
) -> None:
    r = await client.get("/price-history-minutes/120 minute/BTCUSDT?limit=")
    assert len(r.json()["data"]) == 2
    r = await client.get("/api/crypto_price/?symbol=BTCUSDT&limit=&offset=")
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["results"]] == [9, 10, 11, 12]
