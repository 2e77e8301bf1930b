from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from tickhub.settings import GatewaySettings, Settings


def fresh() -> Settings:
    return Settings(_env_file=None)


def test_seed_001_names_build_the_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("TICKHUB_DATABASE_URL", "TICKHUB_BUS_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("POSTGRES_DB", "crypto")
    monkeypatch.setenv("POSTGRES_USER", "app")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p@ss word")
    monkeypatch.setenv("RABBITMQ_HOST", "rabbitmq")
    s = fresh()
    url = make_url(s.resolved_database_url)
    assert (url.drivername, url.username, url.password) == ("postgresql", "app", "p@ss word")
    assert (url.host, url.port, url.database) == ("db", 5432, "crypto")
    assert s.bus_url == "amqp://guest:guest@rabbitmq:5672/"


def test_tickhub_names_win_over_seed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("RABBITMQ_HOST", "rabbitmq")
    monkeypatch.setenv("TICKHUB_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("TICKHUB_BUS_URL", "memory://")
    s = fresh()
    assert s.resolved_database_url == "sqlite:///x.db"
    assert s.bus_url == "memory://"


def test_without_either_the_embedded_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("TICKHUB_DATABASE_URL", "TICKHUB_BUS_URL", "POSTGRES_HOST", "RABBITMQ_HOST"):
        monkeypatch.delenv(k, raising=False)
    s = fresh()
    assert s.resolved_database_url.endswith("tickhub.db")
    assert s.bus_url == "memory://"


def test_trusted_proxies_are_addresses_or_networks() -> None:
    gw = GatewaySettings(_env_file=None, trusted_proxies="172.31.250.10, 10.0.0.0/8,::1")
    assert gw.trusted_proxies == ["172.31.250.10", "10.0.0.0/8", "::1"]
    assert GatewaySettings(_env_file=None).trusted_proxies == []  # nobody by default
    with pytest.raises(ValidationError, match="nginx"):
        GatewaySettings(_env_file=None, trusted_proxies="nginx")


def test_symbols_per_venue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TICKHUB_SYMBOLS",
        "btcusdt, coinbase:BTC-USD, ETH-USDT, Coinbase:eth-usd, ccxt:Kraken:BTC/USD, "
        "ccxt:binance:BTC/USDT:USDT",
    )
    s = fresh()
    assert s.venue_symbols("binance") == ["BTCUSDT", "ETHUSDT"]
    assert s.venue_symbols("coinbase") == ["BTC-USD", "eth-usd"]
    assert s.venue_symbols("ccxt:kraken") == ["BTC/USD"]
    assert s.venue_symbols("ccxt:binance") == ["BTC/USDT:USDT"]
    assert s.venue_symbols("sim") == []
    assert s.bare_symbols == ["BTCUSDT", "ETHUSDT"]


def test_without_bare_symbols_the_simulator_follows_every_venue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TICKHUB_SYMBOLS", "coinbase:BTC-USD,ccxt:kraken:ETH/USD,coinbase:BTC-USD")
    assert fresh().bare_symbols == ["BTCUSD", "ETHUSD"]
