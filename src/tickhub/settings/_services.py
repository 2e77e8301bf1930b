"""The background services' settings: storage, the scanner, notifiers and the market."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tickhub.settings._base import ENV_FILE, split_list


class StorageSettings(BaseSettings):
    """`TICKHUB_PARTITION_*`, `TICKHUB_RETENTION_DAYS`: time partitions of the trades table
    on PostgreSQL (SQLite ignores them)."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=ENV_FILE, extra="ignore")

    # One partition per UTC day, ISO week (from Monday) or calendar month.
    partition_interval: Literal["day", "week", "month"] = "week"
    # Partitions kept ready beyond the current period.
    partition_ahead: int = Field(default=4, ge=0, le=366)
    # Trades of whole periods older than this many days are dropped; 0 keeps them forever.
    # Candles, coverage and latest prices are kept.
    retention_days: int = Field(default=0, ge=0)


class ScannerSettings(BaseSettings):
    """`TICKHUB_SCANNER_*`: the strategy scanner (`tickhub scanner`, also inside `tickhub up`)."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_SCANNER_", env_file=ENV_FILE, extra="ignore"
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

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=ENV_FILE, extra="ignore")

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
        return split_list(value)


class MarketSettings(BaseSettings):
    """`TICKHUB_MARKET_*`: the data-sharing market (seed 003) and its engine."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_MARKET_", env_file=ENV_FILE, extra="ignore"
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
