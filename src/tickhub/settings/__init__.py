"""Settings: one pydantic-settings class per context, each with its own prefix.

Every variable is also read from a `.env` file in the working directory. Nothing
else in tickhub reads `os.environ`; callers receive a `Settings` object.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

from tickhub.settings._base import ENV_FILE, split_list, symbol_entry
from tickhub.settings._services import (
    MarketSettings,
    NotifySettings,
    ScannerSettings,
    StorageSettings,
)
from tickhub.settings._venues import (
    BinanceSettings,
    CcxtSettings,
    CoinbaseSettings,
    CoinMarketCapSettings,
    SimSettings,
)
from tickhub.settings._web import (
    MIN_SECRET_KEY_LENGTH,
    PLACEHOLDER_SECRETS,
    AuthSettings,
    GatewaySettings,
    SmtpSettings,
)

__all__ = [
    "MIN_SECRET_KEY_LENGTH",
    "PLACEHOLDER_SECRETS",
    "AuthSettings",
    "BinanceSettings",
    "CcxtSettings",
    "CoinMarketCapSettings",
    "CoinbaseSettings",
    "GatewaySettings",
    "MarketSettings",
    "NotifySettings",
    "ScannerSettings",
    "Settings",
    "SimSettings",
    "SmtpSettings",
    "StorageSettings",
    "get_settings",
]


class Settings(BaseSettings):
    """`TICKHUB_*`: the root settings. The fixed names are in DESIGN.md."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=ENV_FILE, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    bus_url: str = "memory://"
    # Where the API processes share their rate-limit counts (redis://host:6379/0); unset =
    # each process counts in memory.
    redis_url: str = ""
    # RabbitMQ: a writer holds a message (the database away) at most this long, then puts
    # a fresh copy back; keep it below the broker's consumer_timeout (30 min by default).
    bus_hold_s: float = Field(default=900.0, gt=0, le=86_400)

    # Seed 001's variable names, used when TICKHUB_DATABASE_URL / TICKHUB_BUS_URL are unset.
    postgres_host: str = Field(default="", validation_alias="POSTGRES_HOST")
    postgres_port: int = Field(default=5432, validation_alias="POSTGRES_PORT")
    postgres_db: str = Field(default="postgres", validation_alias="POSTGRES_DB")
    postgres_user: str = Field(default="postgres", validation_alias="POSTGRES_USER")
    postgres_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="POSTGRES_PASSWORD"
    )
    rabbitmq_host: str = Field(default="", validation_alias="RABBITMQ_HOST")
    rabbitmq_user: str = Field(default="guest", validation_alias="RABBITMQ_USER")
    rabbitmq_password: SecretStr = Field(
        default=SecretStr("guest"), validation_alias="RABBITMQ_PASSWORD"
    )
    sources: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["binance"])
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["BTCUSDT", "ETHUSDT", "BNBBTC"]
    )
    capture_interval: float = Field(default=0, ge=0)
    host: str = "127.0.0.1"
    port: int = 8000
    # `tickhub api`: worker processes on one port (each subscribes to the bus itself), and
    # the memory each keeps for closed-window candle and statistics answers (0 = none),
    # for the stored rollups those reads fold (0 = none), and for seed 004's listed prices
    # by closed minute (0 = none).
    api_workers: int = Field(default=1, ge=1, le=64)
    read_cache_mb: float = Field(default=64.0, ge=0)
    rollup_cache_mb: float = Field(default=32.0, ge=0)
    price_cache_mb: float = Field(default=64.0, ge=0)
    # `tickhub tracker|writer|scanner` answer /healthz and /readyz here (on `host`); 0 = off
    health_port: int = Field(default=8001, ge=0, le=65535)
    log_level: str = "INFO"

    # When no live source has connected within `offline_after_s`, `tickhub up` starts `sim`.
    sim_fallback: bool = True
    offline_after_s: float = Field(default=15.0, gt=0)

    # The tracker publishes a batch when it holds this many trades or this much time passed
    # (what the live stream waits for; the writer stores several of these at once).
    batch_max_trades: int = Field(default=5000, gt=0)
    batch_max_delay_s: float = Field(default=0.02, gt=0)
    # Writer tasks per process: one prepares a batch while another's transaction runs.
    writer_concurrency: int = Field(default=2, ge=1, le=16)
    # SQLite: a write transaction starts at most this often; the batches that arrive in
    # between go into one transaction (the live feed does not wait for it).
    write_interval_s: float = Field(default=0.25, ge=0, le=5)

    binance: BinanceSettings = Field(default_factory=BinanceSettings)
    coinbase: CoinbaseSettings = Field(default_factory=CoinbaseSettings)
    ccxt: CcxtSettings = Field(default_factory=CcxtSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)  # trades partitions
    cmc: CoinMarketCapSettings = Field(default_factory=CoinMarketCapSettings)
    scanner: ScannerSettings = Field(default_factory=ScannerSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    market: MarketSettings = Field(default_factory=MarketSettings)

    @field_validator("sources", "symbols", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return split_list(value)

    @field_validator("symbols")
    @classmethod
    def _upper_symbols(cls, value: list[str]) -> list[str]:
        """A bare entry is Binance's (compact, upper case); `venue:SYMBOL` keeps the venue's
        own spelling (`coinbase:BTC-USD`, `ccxt:kraken:BTC/USD`)."""
        return [symbol_entry(s) for s in value]

    def venue_symbols(self, source: str) -> list[str]:
        """The symbols configured for `source` (`binance`, `coinbase`, `ccxt:kraken`), in
        the venue's own spelling; bare entries belong to Binance."""
        prefix = f"{source}:"
        if source == "binance":
            bare = [s for s in self.symbols if ":" not in s]
            return bare + [s[len(prefix) :] for s in self.symbols if s.startswith(prefix)]
        return [s[len(prefix) :] for s in self.symbols if s.startswith(prefix)]

    @property
    def bare_symbols(self) -> list[str]:
        """Entries without a venue (the simulator and CoinMarketCap follow these); with
        none, every entry's symbol, compact (`coinbase:BTC-USD` -> `BTCUSD`)."""
        bare = [s for s in self.symbols if ":" not in s]
        if bare:
            return bare
        symbols = (s.split(":", 2)[-1] if s.startswith("ccxt:") else s.split(":", 1)[1]
                   for s in self.symbols)  # fmt: skip
        compact = ("".join(ch for ch in s.split(":")[0].upper() if ch.isalnum()) for s in symbols)
        return list(dict.fromkeys(compact))

    @model_validator(mode="after")
    def _secret_key_policy(self) -> Settings:
        key = self.auth.secret_key
        if key is None:
            if self.env == "production":
                raise ValueError(
                    "TICKHUB_AUTH_SECRET_KEY must be set when TICKHUB_ENV=production; "
                    'generate one with: python -c "import secrets; print(secrets.token_hex(64))"'
                )
            return self
        if self.env != "development":
            value = key.get_secret_value()
            if value.strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"TICKHUB_AUTH_SECRET_KEY is a placeholder; set a random value "
                    f"(TICKHUB_ENV={self.env})"
                )
            if len(value) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    f"TICKHUB_AUTH_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} "
                    f"characters (TICKHUB_ENV={self.env})"
                )
        return self

    @property
    def public_base_url(self) -> str:
        """Where clients reach this server, for links in e-mails and responses."""
        base = self.auth.public_base_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/")

    @model_validator(mode="after")
    def _seed_001_names(self) -> Settings:
        """`POSTGRES_*` and `RABBITMQ_*` (seed 001's .env) stand in for the URLs."""
        if not self.database_url and self.postgres_host:
            self.database_url = str(
                URL.create(
                    "postgresql",
                    username=self.postgres_user,
                    password=self.postgres_password.get_secret_value() or None,
                    host=self.postgres_host,
                    port=self.postgres_port,
                    database=self.postgres_db,
                ).render_as_string(hide_password=False)
            )
        if "bus_url" not in self.model_fields_set and self.rabbitmq_host:
            user = quote(self.rabbitmq_user, safe="")
            password = quote(self.rabbitmq_password.get_secret_value(), safe="")
            self.bus_url = f"amqp://{user}:{password}@{self.rabbitmq_host}:5672/"
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL with the default SQLite file filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tickhub.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
