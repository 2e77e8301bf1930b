"""The market series in the condition language: CoinMarketCap's global metrics and a
coin's listing fields parse as series, evaluate like candle series, and `explain` shows
the age of each carried value (a gap) or that there is none."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tickhub.alerts import service as alerts_service
from tickhub.alerts.language import (
    LISTING_SERIES,
    MARKET_SERIES,
    SERIES,
    ConditionError,
    Evaluation,
    evaluate,
    explain,
    parse,
)
from tickhub.alerts.scanner import GroupRequest, Job, find_alerts, market_names
from tickhub.marketdata import service as marketdata

NAN = math.nan


def test_the_names_are_the_ones_the_market_data_service_reads() -> None:
    assert set(MARKET_SERIES) == set(marketdata.GLOBAL_SERIES)
    assert set(LISTING_SERIES) == set(marketdata.LISTING_SERIES)
    assert not (SERIES & (MARKET_SERIES | LISTING_SERIES))


def test_market_series_parse_as_series() -> None:
    cond = parse("btc_dominance > 55 and rsi(total_market_cap, 14) < 30 or cmc_rank <= 10")
    assert cond.series == {"btc_dominance", "total_market_cap", "cmc_rank"}
    assert market_names([cond, parse("close > 1")]) == cond.series


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("btc_dominanc > 50", "unknown name 'btc_dominanc'"),
        ("btc_dominance(14) > 50", "'btc_dominance' is a series, not a function"),
        ("market_cap > 1e9", "malformed number"),
        ("dominance > 50", "unknown name 'dominance'"),
    ],
)
def test_bad_names_are_refused_with_the_known_ones(text: str, reason: str) -> None:
    with pytest.raises(ConditionError) as err:
        parse(text)
    assert reason in err.value.message
    if "unknown name" in reason:
        assert "btc_dominance" in err.value.message and "cmc_rank" in err.value.message


def candles(close: list[float], **market: list[float]) -> dict[str, np.ndarray]:
    x = np.asarray(close, dtype=np.float64)
    out = {"open": x, "high": x, "low": x, "close": x, "volume": x, "vwap": x, "trade_count": x}
    return out | {k: np.asarray(v, dtype=np.float64) for k, v in market.items()}


def test_a_market_series_evaluates_like_a_candle_series_and_nan_is_undefined() -> None:
    data = candles([1, 2, 3, 4], btc_dominance=[NAN, 54, 56, 57])
    assert evaluate(parse("btc_dominance > 55"), data).tolist() == [False, False, True, True]
    # no value yet is undefined, not false: `not` does not make it true
    assert evaluate(parse("not (btc_dominance > 55)"), data).tolist() == [False, True, False, False]


def test_explain_shows_each_value_with_its_age() -> None:
    data = candles([1, 2, 3], btc_dominance=[NAN, 54, 56], eth_dominance=[17, 17, 18])
    ages = {"btc_dominance": [NAN, 0.0, 600.0], "eth_dominance": [0.0, 60.0, 0.0]}
    cond = parse("btc_dominance - eth_dominance > close")
    assert explain(cond, data, 2, ages=ages) == {
        "(btc_dominance - eth_dominance)": 38.0,
        "btc_dominance": 56.0,
        "btc_dominance.age_s": 600.0,  # carried forward ten minutes
        "eth_dominance": 18.0,
        "eth_dominance.age_s": 0.0,
        "close": 3.0,
    }
    missing = explain(cond, data, 0, ages=ages)
    assert math.isnan(missing["btc_dominance"]) and math.isnan(missing["btc_dominance.age_s"])
    assert "close.age_s" not in missing
    with pytest.raises(ValueError, match="one per candle"):
        Evaluation(data, ages={"btc_dominance": [0.0]})


def test_alert_values_carry_the_ages_and_none_where_missing() -> None:
    closes = np.array([60, 120, 180], dtype=np.int64) * 1_000_000
    data = candles([1, 2, 3], btc_dominance=[NAN, 56, 56])
    request = GroupRequest(
        data,
        closes,
        (Job("btc_dominance > 55 or close > 0", 0, 0, None),),
        ages={"btc_dominance": np.array([NAN, 0.0, 60.0])},
    )
    hits = find_alerts(request)
    assert [h.row for h in hits] == [0, 1, 2]
    assert hits[0].values == {"btc_dominance": None, "btc_dominance.age_s": None, "close": 1.0}
    assert hits[2].values == {"btc_dominance": 56.0, "btc_dominance.age_s": 60.0, "close": 3.0}


def test_listing_fields_need_coinmarketcap_instruments() -> None:
    alerts_service.check_listing_fields("cmc_rank <= 10", ["coinmarketcap:SOLUSD"], "condition")
    alerts_service.check_listing_fields("btc_dominance > 50", ["binance:BTCUSDT"], "condition")
    with pytest.raises(alerts_service.Invalid) as err:
        alerts_service.check_listing_fields(
            "market_cap > 100", ["coinmarketcap:SOLUSD", "binance:BTCUSDT"], "instruments"
        )
    assert err.value.field == "instruments"
    assert "'market_cap'" in err.value.message and "binance:BTCUSDT" in err.value.message
