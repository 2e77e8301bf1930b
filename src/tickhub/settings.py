"""Settings: one pydantic-settings class per context, each with its own prefix.

Every variable is also read from a `.env` file in the working directory. Nothing
else in tickhub reads `os.environ`; callers receive a `Settings` object.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

_ENV_FILE = ".env"


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _symbol_entry(entry: str) -> str:
    venue, sep, symbol = entry.strip().partition(":")
    if not sep:
        return entry.strip().upper().replace("-", "").replace("/", "")
    if venue.lower() == "ccxt":  # ccxt:<exchange id>:<unified symbol, may hold ':'>
        exchange, _, symbol = symbol.partition(":")
        venue = f"ccxt:{exchange}"
    return f"{venue.lower()}:{symbol.strip()}"


class BinanceSettings(BaseSettings):
    """`TICKHUB_BINANCE_*`: the Binance spot connector."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_BINANCE_", env_file=_ENV_FILE, extra="ignore"
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
        env_prefix="TICKHUB_COINBASE_", env_file=_ENV_FILE, extra="ignore"
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

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_CCXT_", env_file=_ENV_FILE, extra="ignore"
    )

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

    model_config = SettingsConfigDict(env_prefix="TICKHUB_SIM_", env_file=_ENV_FILE, extra="ignore")

    rate: float = Field(default=20.0, gt=0, description="trades per second per instrument")
    seed: int = 42
    batch_interval_s: float = Field(default=0.25, gt=0)


class GatewaySettings(BaseSettings):
    """`TICKHUB_GATEWAY_*`: what every HTTP request passes through (`tickhub.gateway`)."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_GATEWAY_", env_file=_ENV_FILE, extra="ignore"
    )

    # A larger request body is refused with 413, by Content-Length or while it streams in.
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    # Seed 003's bulk uploads (raw data, forecasts): a year of 15-minute values is ~2 MB.
    max_bulk_body_bytes: int = Field(default=16 * 1024 * 1024, ge=0)
    # Rate limits, moving window, in the `limits` notation ("10/minute",
    # "100/hour;1000/day"); empty = unlimited. Which paths fall in which class is listed
    # once, in `tickhub.gateway.paths`. Per client address: the strict classes, and
    # writes and reads without credentials that hold.
    rate_limit_login: str = "10/minute"
    rate_limit_registration: str = "5/minute"
    rate_limit_writes: str = "120/minute"
    rate_limit_reads: str = ""
    # Writes per principal (a user's token, or one API key): a bot posting a transaction
    # per trade stays well under 20 a second.
    rate_limit_principal_writes: str = "1200/minute"
    # Per account named in a strict-class body (sign-in, registration, verification link,
    # reset mail), from every address together.
    rate_limit_account: str = "10/minute;50/hour"
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    # networks, comma list; `*` = any): the reverse proxy's. Empty = none: the client's
    # address is the peer's.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The largest WebSocket message a client may send (the server closes with 1009).
    ws_max_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # Open `/v1/stream` connections per client address; more are closed with 1008.
    stream_max_per_address: int = Field(default=20, ge=1)
    # How often an open alert stream checks its credentials again (an expired token or
    # a revoked key ends it).
    stream_recheck_s: float = Field(default=30.0, gt=0, le=3600)
    # Prefix of the rate-limit keys in Redis (deployments sharing one Redis differ here).
    rate_limit_key_prefix: str = Field(default="tickhub", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    # Origins allowed to call the API from a browser (comma list); empty = no CORS headers.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    cors_max_age_s: int = Field(default=600, ge=0)
    # Sent on every response unless the route set its own (the docs pages do).
    content_security_policy: str = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
    # Strict-Transport-Security max-age, sent on https requests only; 0 = never.
    hsts_max_age_s: int = Field(default=31_536_000, ge=0)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)  # ValueError names the entry
        return value

    @field_validator(
        "rate_limit_login",
        "rate_limit_registration",
        "rate_limit_writes",
        "rate_limit_reads",
        "rate_limit_principal_writes",
        "rate_limit_account",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_many(value)  # ValueError names the part it cannot read
        return value


# Values that look like secrets but are not: refused outside development.
PLACEHOLDER_SECRETS = frozenset(
    {"changethis", "changeme", "change-me", "secret", "secret-key", "secretkey", "password"}
)
MIN_SECRET_KEY_LENGTH = 32


class AuthSettings(BaseSettings):
    """`TICKHUB_AUTH_*`: accounts, tokens and password hashing.

    Without `secret_key`, development and test runs generate one into
    `<data_dir>/secret_key` on first use and keep it there; production refuses to start.
    """

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_AUTH_", env_file=_ENV_FILE, extra="ignore"
    )

    secret_key: SecretStr | None = None
    access_ttl_s: int = Field(default=900, gt=0, le=86_400)
    refresh_ttl_s: int = Field(default=15 * 86_400, gt=0)  # seed 003: 15 days
    verify_ttl_s: int = Field(default=86_400, gt=0)
    reset_ttl_s: int = Field(default=3600, gt=0)
    # Seed 003 (ACCOUNT_VERIFICATION): login needs a verified e-mail address.
    require_verification: bool = True
    # Base of the links in e-mails; empty means http://{host}:{port}.
    public_base_url: str = ""
    # Seed 003 uses Django's validators with a minimum of 9 characters.
    password_min_length: int = Field(default=9, ge=8, le=128)
    password_check_similarity: bool = True
    # Argon2id cost; the floors are OWASP's minimum (19 MiB, 2 passes, 1 lane).
    argon2_time_cost: int = Field(default=3, ge=2)
    argon2_memory_kib: int = Field(default=65_536, ge=19_456)
    argon2_parallelism: int = Field(default=4, ge=1)


class SmtpSettings(BaseSettings):
    """`TICKHUB_SMTP_*`: where verification and reset links are mailed. Unset `host` means
    no mail: the register response then carries the verification link."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_SMTP_", env_file=_ENV_FILE, extra="ignore"
    )

    host: str = ""
    port: int = 587
    username: str = ""
    password: SecretStr | None = None
    sender: str = "tickhub@localhost"
    starttls: bool = True
    timeout_s: float = Field(default=30.0, gt=0)


# --- storage (trades partitions on PostgreSQL): tickhub.marketdata.store.partitions ---
class StorageSettings(BaseSettings):
    """`TICKHUB_PARTITION_*`, `TICKHUB_RETENTION_DAYS`: time partitions of the trades table
    on PostgreSQL (SQLite ignores them)."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=_ENV_FILE, extra="ignore")

    # One partition per UTC day, ISO week (from Monday) or calendar month.
    partition_interval: Literal["day", "week", "month"] = "week"
    # Partitions kept ready beyond the current period.
    partition_ahead: int = Field(default=4, ge=0, le=366)
    # Trades of whole periods older than this many days are dropped; 0 keeps them forever.
    # Candles, coverage and latest prices are kept.
    retention_days: int = Field(default=0, ge=0)


# --- end storage ---


# --- coinmarketcap source: tickhub.marketdata.coinmarketcap.client ---
class CoinMarketCapSettings(BaseSettings):
    """`TICKHUB_CMC_*`: the CoinMarketCap source (`coinmarketcap` in TICKHUB_SOURCES)."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_CMC_", env_file=_ENV_FILE, extra="ignore")

    api_key: SecretStr = SecretStr("")
    base_url: str = "https://pro-api.coinmarketcap.com"
    # Listings per call; CMC charges 1 credit per 200 results (rounded up).
    limit: int = Field(default=100, ge=1, le=5000)
    convert: str = "USD"
    # Credits per UTC day; 333 is about the free plan's 10,000 a month.
    daily_credit_budget: int = Field(default=333, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)


# --- end coinmarketcap ---


# --- alerts: tickhub.alerts (scanner and notifiers) ---
class ScannerSettings(BaseSettings):
    """`TICKHUB_SCANNER_*`: the strategy scanner (`tickhub scanner`, also inside `tickhub up`)."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_SCANNER_", env_file=_ENV_FILE, extra="ignore"
    )

    # Seconds after a minute boundary before the candles that closed on it are evaluated,
    # so trades still in flight are in them.
    grace_s: float = Field(default=2.0, ge=0, le=30)
    # Candles of history loaded per instrument and interval for the indicators.
    history: int = Field(default=300, ge=10, le=5000)
    # Worker processes for evaluation; 0 = evaluate in the scanner's own process.
    workers: int = Field(default=0, ge=0, le=64)
    # After a stop, closed candles not yet evaluated are caught up, at most this many each.
    catch_up: int = Field(default=60, ge=0, le=5000)


class NotifySettings(BaseSettings):
    """`TICKHUB_NOTIFY_*` and `TICKHUB_TELEGRAM_*`: how alerts are delivered."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=_ENV_FILE, extra="ignore")

    notify_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Attempts per delivery before it is recorded as failed.
    notify_attempts: int = Field(default=5, ge=1, le=50)
    # First retry delay; doubles each attempt.
    notify_backoff_s: float = Field(default=2.0, gt=0, le=3600)
    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    # Deliveries sent per user in an hour, over all channels; the rest wait their turn.
    notify_user_hourly: int = Field(default=120, ge=1, le=100_000)
    # Internal webhook receivers an operator allows (host names, addresses, networks);
    # every other non-public address is refused.
    notify_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("notify_allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        return _split_list(value)


# --- end alerts ---


# --- market ---


class MarketSettings(BaseSettings):
    """`TICKHUB_MARKET_*`: the data-sharing market (seed 003) and its engine."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_MARKET_", env_file=_ENV_FILE, extra="ignore"
    )

    # The smallest `max_payment` of a bid (the seed's MINIMUM_PAYMENT_AMOUNT).
    minimum_payment: Decimal = Field(default=Decimal(1_000_000), ge=0)
    # Forecast horizon of a clearing, hours.
    horizon_h: int = Field(default=24, ge=1, le=24 * 14)
    # The market's share of every payment, 0 <= fee < 1.
    fee: Decimal = Field(default=Decimal("0.05"), ge=0, lt=1)
    # After a clearing, stage the next session with the engine's next market price.
    auto_stage: bool = True
    # `external`: the built-in engine clears nothing; an external engine books the
    # sessions through the seed's write paths (session-balance, session-fee, ...).
    engine: Literal["builtin", "external"] = "builtin"
    # A ledger node's API checked by payment validation; unset: trust the admin.
    ledger_url: str = ""
    ledger_timeout_s: float = Field(default=10.0, gt=0, le=120)


# --- end market ---


class Settings(BaseSettings):
    """`TICKHUB_*`: the root settings. The fixed names are in DESIGN.md."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=_ENV_FILE, extra="ignore")

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
    # the memory each keeps for closed-window candle and statistics answers (0 = none).
    api_workers: int = Field(default=1, ge=1, le=64)
    read_cache_mb: float = Field(default=64.0, ge=0)
    # `tickhub tracker|writer|scanner` answer /healthz and /readyz here (on `host`); 0 = off
    health_port: int = Field(default=8001, ge=0, le=65535)
    log_level: str = "INFO"

    # When no live source has connected within `offline_after_s`, `tickhub up` starts `sim`.
    sim_fallback: bool = True
    offline_after_s: float = Field(default=15.0, gt=0)

    # The tracker publishes a batch when it holds this many trades or this much time passed.
    batch_max_trades: int = Field(default=5000, gt=0)
    batch_max_delay_s: float = Field(default=0.1, gt=0)
    # Writer tasks per process: one prepares a batch while another's transaction runs.
    writer_concurrency: int = Field(default=2, ge=1, le=16)

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
        return _split_list(value)

    @field_validator("symbols")
    @classmethod
    def _upper_symbols(cls, value: list[str]) -> list[str]:
        """A bare entry is Binance's (compact, upper case); `venue:SYMBOL` keeps the venue's
        own spelling (`coinbase:BTC-USD`, `ccxt:kraken:BTC/USD`)."""
        return [_symbol_entry(s) for s in value]

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
