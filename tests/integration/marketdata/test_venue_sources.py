"""build_sources: one source per configured venue, each with its own symbols."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.bootstrap import ConfigurationError, build_sources
from tickhub.marketdata.ingest.binance.source import BinanceSource
from tickhub.marketdata.ingest.ccxt import CcxtSource
from tickhub.marketdata.ingest.coinbase import CoinbaseSource
from tickhub.settings import Settings


async def test_each_venue_gets_its_symbols(settings: Settings, engine: AsyncEngine) -> None:
    configured = settings.model_copy(
        update={
            "sources": ["binance", "coinbase", "ccxt:kraken"],
            "symbols": ["BTCUSDT", "coinbase:BTC-USD", "coinbase:ETH-USD", "ccxt:kraken:BTC/USD"],
        }
    )
    binance, coinbase, kraken = await build_sources(configured, engine)
    assert isinstance(binance, BinanceSource)
    assert binance.symbols == ("BTCUSDT",)
    assert isinstance(coinbase, CoinbaseSource)
    assert coinbase.symbols == ("BTC-USD", "ETH-USD")
    assert isinstance(kraken, CcxtSource)
    assert (kraken.name, kraken.exchange, kraken.symbols) == ("ccxt:kraken", "kraken", ("BTC/USD",))


async def test_a_venue_without_symbols_names_the_setting(
    settings: Settings, engine: AsyncEngine
) -> None:
    configured = settings.model_copy(update={"sources": ["coinbase"], "symbols": ["BTCUSDT"]})
    with pytest.raises(ConfigurationError) as info:
        await build_sources(configured, engine)
    assert info.value.setting == "TICKHUB_SYMBOLS"
    assert "coinbase:SYMBOL" in str(info.value)


async def test_an_unknown_ccxt_exchange_names_near_ones(
    settings: Settings, engine: AsyncEngine
) -> None:
    configured = settings.model_copy(
        update={"sources": ["ccxt:krakn"], "symbols": ["ccxt:krakn:BTC/USD"]}
    )
    with pytest.raises(ConfigurationError) as info:
        await build_sources(configured, engine)
    assert info.value.setting == "TICKHUB_SOURCES"
    assert "kraken" in str(info.value)
