"""Coinbase Exchange declaration, pure parts: feed messages and REST items as documented."""

from __future__ import annotations

import json

import pytest

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.coinbase.parse import parse_frame, parse_rest_trade, parse_time
from tickhub.marketdata.ingest.coinbase.source import CoinbaseVenue
from tickhub.marketdata.ingest.engine import FrameError, Heartbeat, ParsedTrade
from tickhub.settings import CoinbaseSettings

# Recorded shapes, as Coinbase's feed and REST documentation show them.
MATCH = {
    "type": "match",
    "trade_id": 10,
    "sequence": 50,
    "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
    "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1",
    "time": "2014-11-07T08:19:27.028459Z",
    "product_id": "BTC-USD",
    "size": "5.23512",
    "price": "400.23",
    "side": "sell",
}
HEARTBEAT = {
    "type": "heartbeat",
    "sequence": 90,
    "last_trade_id": 20,
    "product_id": "BTC-USD",
    "time": "2014-11-07T08:19:28.464459Z",
}
SUBSCRIPTIONS = {
    "type": "subscriptions",
    "channels": [{"name": "matches", "product_ids": ["BTC-USD"]}],
}
REST_ITEM = {
    "time": "2014-11-07T22:19:28.578544Z",
    "trade_id": 74,
    "price": "10.00000000",
    "size": "0.01000000",
    "side": "buy",
}
T_2014_11_07_081927 = 1_415_348_367_028_459


def test_match_and_last_match_are_trades_with_the_taker_side() -> None:
    trade = Trade(10, T_2014_11_07_081927, 400.23, 5.23512, False)  # maker sold: taker bought
    assert parse_frame(json.dumps(MATCH)) == ParsedTrade("BTC-USD", trade)
    assert parse_frame(json.dumps(MATCH | {"type": "last_match"})) == ParsedTrade("BTC-USD", trade)


def test_heartbeat_carries_the_last_trade_id() -> None:
    assert parse_frame(json.dumps(HEARTBEAT)) == Heartbeat("BTC-USD", 20)


@pytest.mark.parametrize("message", [SUBSCRIPTIONS, {"type": "ticker", "product_id": "BTC-USD"}])
def test_other_types_are_ignored(message: dict[str, object]) -> None:
    assert parse_frame(json.dumps(message)) is None


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        json.dumps({"product_id": "BTC-USD"}),
        json.dumps({"type": "error", "message": "Failed to subscribe", "reason": "bad"}),
        json.dumps(MATCH | {"trade_id": "10"}),
        json.dumps(MATCH | {"side": "up"}),
        json.dumps(MATCH | {"price": "-1"}),
        json.dumps(MATCH | {"time": "yesterday"}),
        json.dumps(MATCH | {"time": "2014-11-07T08:19:27"}),
        json.dumps(MATCH | {"product_id": "BTCUSD"}),
        json.dumps(HEARTBEAT | {"last_trade_id": None}),
    ],
)
def test_malformed_messages_raise(raw: str) -> None:
    with pytest.raises(FrameError):
        parse_frame(raw)


def test_rest_trade() -> None:
    assert parse_rest_trade(REST_ITEM) == Trade(74, 1_415_398_768_578_544, 10.0, 0.01, True)
    with pytest.raises(FrameError):
        parse_rest_trade(["not", "an", "object"])


def test_time_keeps_microseconds() -> None:
    assert parse_time("1970-01-01T00:00:01.000001Z") == 1_000_001
    assert parse_time("1970-01-01T00:00:01Z") == 1_000_000


@pytest.mark.parametrize(
    ("written", "product", "stored"),
    [
        ("btc-usd", "BTC-USD", "BTCUSD"),
        ("ETH/USDT", "ETH-USDT", "ETHUSDT"),
        ("SOLUSD", "SOL-USD", "SOLUSD"),
    ],
)
def test_symbols(written: str, product: str, stored: str) -> None:
    venue = CoinbaseVenue(CoinbaseSettings())
    assert venue.normalize_symbol(written) == product
    assert venue.stored_symbol(product) == stored


def test_subscribe_message_names_both_channels() -> None:
    venue = CoinbaseVenue(CoinbaseSettings(ws_url="wss://feed.example"))
    assert venue.stream_url(["BTC-USD"]) == "wss://feed.example"
    assert [json.loads(m) for m in venue.subscribe_messages(["BTC-USD", "ETH-USD"])] == [
        {
            "type": "subscribe",
            "product_ids": ["BTC-USD", "ETH-USD"],
            "channels": ["matches", "heartbeat"],
        }
    ]
