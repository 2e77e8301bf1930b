"""The web side's settings: the gateway (limits, proxies, streams), accounts and mail."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tickhub.settings._base import ENV_FILE, split_list


class GatewaySettings(BaseSettings):
    """`TICKHUB_GATEWAY_*`: what every HTTP request passes through (`tickhub.gateway`)."""

    model_config = SettingsConfigDict(
        env_prefix="TICKHUB_GATEWAY_", env_file=ENV_FILE, extra="ignore"
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
        return split_list(value)

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

    model_config = SettingsConfigDict(env_prefix="TICKHUB_AUTH_", env_file=ENV_FILE, extra="ignore")

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

    model_config = SettingsConfigDict(env_prefix="TICKHUB_SMTP_", env_file=ENV_FILE, extra="ignore")

    host: str = ""
    port: int = 587
    username: str = ""
    password: SecretStr | None = None
    sender: str = "tickhub@localhost"
    starttls: bool = True
    timeout_s: float = Field(default=30.0, gt=0)
