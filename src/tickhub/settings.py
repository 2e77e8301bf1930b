"""Settings: one pydantic-settings class per context, each with its own prefix.

Every variable is also read from a `.env` file in the working directory. Nothing
else in tickhub reads `os.environ`; callers receive a `Settings` object.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ENV_FILE = ".env"


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


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


class SimSettings(BaseSettings):
    """`TICKHUB_SIM_*`: the simulated market (exchange `sim`)."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_SIM_", env_file=_ENV_FILE, extra="ignore")

    rate: float = Field(default=20.0, gt=0, description="trades per second per instrument")
    seed: int = 42
    batch_interval_s: float = Field(default=0.25, gt=0)


class Settings(BaseSettings):
    """`TICKHUB_*`: the root settings. The fixed names are in DESIGN.md."""

    model_config = SettingsConfigDict(env_prefix="TICKHUB_", env_file=_ENV_FILE, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    bus_url: str = "memory://"
    sources: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["binance"])
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["BTCUSDT", "ETHUSDT", "BNBBTC"]
    )
    capture_interval: float = Field(default=0, ge=0)
    host: str = "127.0.0.1"
    port: int = 8000
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
    sim: SimSettings = Field(default_factory=SimSettings)

    @field_validator("sources", "symbols", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("symbols")
    @classmethod
    def _upper_symbols(cls, value: list[str]) -> list[str]:
        return [s.upper().replace("-", "").replace("/", "") for s in value]

    @property
    def resolved_database_url(self) -> str:
        """The database URL with the default SQLite file filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tickhub.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
