"""Secrets: password hashing (Argon2id), signed tokens (JWT, HS256 only), API keys, and
the signing key.

Pure functions and small classes; the only I/O is `load_secret_key`, which the
composition root calls.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from tickhub.settings import AuthSettings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh", "verify", "reset"]
SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name)
API_KEY_PREFIX = "th"


# ---------------------------------------------------------------- passwords


class Passwords:
    """Argon2id with at least OWASP's parameters (the defaults are RFC 9106's
    low-memory profile: 64 MiB, 3 passes, 4 lanes)."""

    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant work whether or not the account exists (`password_hash` None)."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


# ---------------------------------------------------------------- tokens


class TokenError(Exception):
    """A token that cannot be used. `expired` tells an expired one from a forged one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str
    type: TokenType
    jti: str
    iat: int
    exp: int
    extra: dict[str, Any]


class Tokens:
    """Signs and checks JWTs. The algorithm is pinned (HS256: `alg: none` and every other
    algorithm are refused), and `sub`, `type`, `jti`, `iat` and `exp` are required.

    Expiry is checked against the `now` the caller passes, so that tests can move time.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the signing key must hold at least 32 bytes")
        self._key = key

    def issue(
        self,
        *,
        sub: str,
        type: TokenType,
        now: datetime,
        ttl: timedelta,
        jti: str | None = None,
        **extra: Any,
    ) -> tuple[str, Claims]:
        iat = int(now.timestamp())
        exp = int((now + ttl).timestamp())
        claims = Claims(sub, type, jti or uuid.uuid4().hex, iat, exp, extra)
        payload = {
            **extra,
            "sub": sub,
            "type": type,
            "jti": claims.jti,
            "iat": iat,
            "exp": exp,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def check(self, token: str, *, type: TokenType, now: datetime) -> Claims:
        """The claims of a valid token of this type; otherwise `TokenError`."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={
                    "require": ["sub", "type", "jti", "iat", "exp"],
                    "verify_exp": False,  # checked below against `now`
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {type_name(exc)}") from exc
        fields = ("sub", "type", "jti", "iat", "exp")
        sub, kind, jti, iat, exp = (payload[k] for k in fields)
        if not (isinstance(sub, str) and isinstance(jti, str) and isinstance(kind, str)):
            raise TokenError("invalid token: malformed claims")
        if not (_is_int(iat) and _is_int(exp)):
            raise TokenError("invalid token: malformed times")
        if kind != type:
            raise TokenError(f"invalid token: a {kind} token where a {type} token is needed")
        stamp = now.timestamp()
        if iat > stamp + 60:
            raise TokenError("invalid token: issued in the future")
        if exp <= stamp:
            raise TokenError("token expired", expired=True)
        extra = {k: v for k, v in payload.items() if k not in fields}
        return Claims(sub, type, jti, iat, exp, extra)


def type_name(exc: BaseException) -> str:
    return type(exc).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def password_fingerprint(password_hash: str) -> str:
    """Changes whenever the password does: a reset link carries it, so it works once."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def b64_encode(text: str) -> str:
    """Django's `urlsafe_base64_encode` (no padding): the seed's link ids."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def b64_decode(text: str) -> str:
    """The reverse of `b64_encode`; `ValueError` when it is not one."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        return raw.decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not base64") from exc


# ---------------------------------------------------------------- API keys


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: str  # shown once, never stored
    prefix: str
    key_hash: str


def new_api_key() -> NewApiKey:
    """`th_<prefix>_<secret>`: a 12-hex-digit lookup prefix and 256 random bits."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key, prefix, hash_api_key(key))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ---------------------------------------------------------------- the signing key


def load_secret_key(settings: AuthSettings, data_dir: Path) -> bytes:
    """The key from settings; without one, the key kept in `<data_dir>/secret_key`,
    generated (64 random bytes, hex, mode 0600) on the first run.

    Production without a key never gets here: `Settings` refuses it.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = data_dir / SECRET_KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return _read_key(path)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(64))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text().strip().encode()
    if len(key) < 32:
        raise ValueError(f"{path} holds fewer than 32 characters: delete it to make a new key")
    return key
