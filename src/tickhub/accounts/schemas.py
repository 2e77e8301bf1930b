"""Accounts input and output: seed 003's bodies (validated here, errors worded as the
seed's Django REST framework words them) and tickhub's own `/v1` resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from tickhub.accounts.repository import ApiKeyRecord, UserRecord
from tickhub.common.schemas import Schema, UtcTime

INVALID_EMAIL = "Enter a valid email address."


def _number_as_text(value: object) -> object:
    """DRF's CharField takes numbers as their text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def normalize_email(value: str) -> str:
    """Lower-cased, syntax checked (no DNS look-up); `PydanticCustomError` otherwise."""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PydanticCustomError("drf", INVALID_EMAIL) from exc
    return checked.normalized.lower()


Text = Annotated[str, BeforeValidator(_number_as_text)]
Required = Annotated[Text, Field(min_length=1)]
Email = Annotated[Text, Field(min_length=1, max_length=254), AfterValidator(normalize_email)]
Name = Annotated[Text, Field(min_length=1, max_length=30)]
Password = Annotated[Text, Field(min_length=1, max_length=1024)]


class SeedIn(BaseModel):
    """A seed 003 request body: unknown fields are ignored, text is trimmed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class RegisterIn(SeedIn):
    email: Email
    password: Password
    first_name: Name
    last_name: Name


class CredentialsIn(SeedIn):
    """`POST /api/token`: the e-mail is matched case-insensitively."""

    email: Required
    password: Password


class GenerateLinkIn(SeedIn):
    email: Email
    password: Password


class RefreshIn(SeedIn):
    refresh: Required


class ResetRequestIn(SeedIn):
    email: Email


class ResetCompleteIn(SeedIn):
    password: Annotated[Text, Field(min_length=6, max_length=68)]
    uidb64: Annotated[Text, Field(min_length=1, max_length=68)]
    token: Required


# ---------------------------------------------------------------- seed 003 outputs


def drf_time(value: datetime) -> str:
    """DRF's datetime: ISO 8601 in UTC with `Z`, microseconds only when non-zero."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seed_user(u: UserRecord) -> dict[str, Any]:
    return {
        "id": u.id,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "is_verified": u.is_verified,
        "is_superuser": u.is_admin,
        "is_staff": u.is_admin,
        "date_joined": drf_time(u.created_at),
    }


# ---------------------------------------------------------------- /v1


class ProfileOut(Schema):
    id: str
    email: str
    first_name: str
    last_name: str
    is_verified: bool
    is_admin: bool
    created_at: UtcTime

    @classmethod
    def of(cls, u: UserRecord) -> ProfileOut:
        return cls(
            id=u.id,
            email=u.email,
            first_name=u.first_name,
            last_name=u.last_name,
            is_verified=u.is_verified,
            is_admin=u.is_admin,
            created_at=u.created_at,
        )


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str | None = Field(default=None, min_length=1, max_length=30)
    last_name: str | None = Field(default=None, min_length=1, max_length=30)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=64, description="What the key is for")


class ApiKeyOut(Schema):
    id: str
    user_id: str
    name: str
    prefix: str = Field(description="The key's first characters after `th_`, to recognise it")
    created_at: UtcTime
    last_used_at: UtcTime | None
    revoked_at: UtcTime | None

    @classmethod
    def of(cls, k: ApiKeyRecord) -> ApiKeyOut:
        return cls(**_key_fields(k))


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(
        description="The key, to send as `X-API-Key`. Shown this once: only its hash is kept."
    )

    @classmethod
    def created(cls, k: ApiKeyRecord, key: str) -> ApiKeyCreatedOut:
        return cls(**_key_fields(k), key=key)


def _key_fields(k: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": k.id,
        "user_id": k.user_id,
        "name": k.name,
        "prefix": k.prefix,
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "revoked_at": k.revoked_at,
    }
