"""The sources' settings: the venues, the simulated market and CoinMarketCap."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickhub.settings._base import ENV_FILE


class BinanceSettings(BaseSettings):
    """`TICKHUB_BINANCE_*`: the Binance spot connector."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_BINANCE_", env_file=ENV_FILE, extra="ignore"
    )

    ws_url: str = "wss://stream.binance.com:9443"
    rest_url: str = "https://api.binance.com"
    # Binance cuts every connection at 24 h; we open a new one ahead of that.
    reconnect_after_s: float = 23.5 * 3600
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    # How far back a restart or a gap is filled over REST before it is left as an open gap.
    max_backfill_trades: int = 200_000
    # Request weight budget per minute (Binance allows 6000; we keep a margin).
    weight_limit_per_minute: int = 5000


class CoinbaseSettings(BaseSettings):
    """`TICKHUB_COINBASE_*`: the Coinbase Exchange connector (public feed, no key)."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_COINBASE_", env_file=ENV_FILE, extra="ignore"
    )

    ws_url: str = "wss://ws-feed.exchange.coinbase.com"
    rest_url: str = "https://api.exchange.coinbase.com"
    # Coinbase announces no forced cut; a fresh connection each day costs nothing.
    reconnect_after_s: float = 23.5 * 3600
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    max_backfill_trades: int = 200_000
    # Public REST endpoints allow 10 requests per second per IP.
    requests_per_second: int = 8


class CcxtSettings(BaseSettings):
    """`TICKHUB_CCXT_*`: venues reached through the ccxt library."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_CCXT_", env_file=ENV_FILE, extra="ignore")

    # How often `fetch_trades` is polled where the venue has no `watch_trades`.
    poll_interval_s: float = Field(default=2.0, gt=0)
    # Use ccxt's WebSocket `watch_trades` where the venue has it.
    websocket: bool = True
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    # Base URLs replacing the venue's (a local mirror or a test server), by URL key.
    urls: dict[str, str] = Field(default_factory=dict)


class SimSettings(BaseSettings):
    """`TICKHUB_SIM_*`: the simulated market (exchange `sim`)."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_SIM_", env_file=ENV_FILE, extra="ignore")

    rate: float = Field(default=20.0, gt=0, description="trades per second per instrument")
    seed: int = 42
    # trades are stamped and handed to the tracker every this many seconds (the newest
    # trade of a batch is at most this old when it leaves the source)
    batch_interval_s: float = Field(default=0.02, gt=0)


class CoinMarketCapSettings(BaseSettings):
    """`TICKHUB_CMC_*`: the CoinMarketCap source (`coinmarketcap` in TICKHUB_SOURCES)."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_CMC_", env_file=ENV_FILE, extra="ignore")

    api_key: SecretStr = SecretStr("")
    base_url: str = "https://pro-api.coinmarketcap.com"
    # Listings per call; CMC charges 1 credit per 200 results (rounded up).
    limit: int = Field(default=100, ge=1, le=5000)
    convert: str = "USD"
    # Credits per UTC day; 333 is about the free plan's 10,000 a month.
    daily_credit_budget: int = Field(default=333, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)
