"""Password hashing and rules, signed tokens, API keys, the signing key, settings."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from tickhub.accounts.passwords import validate_password
from tickhub.accounts.security import (
    Passwords,
    TokenError,
    Tokens,
    api_key_prefix,
    b64_decode,
    b64_encode,
    hash_api_key,
    load_secret_key,
    new_api_key,
)
from tickhub.settings import AuthSettings, Settings

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
KEY = b"k" * 64


def _auth(**values: object) -> AuthSettings:
    return AuthSettings(_env_file=None, **values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- passwords


def test_argon2id_at_or_above_owasp() -> None:
    default = Passwords(_auth()).hash("correct horse battery staple")
    assert default.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    floor = Passwords(_auth(argon2_time_cost=2, argon2_memory_kib=19_456, argon2_parallelism=1))
    assert floor.hash("x").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    with pytest.raises(ValidationError):
        _auth(argon2_memory_kib=8192)
    with pytest.raises(ValidationError):
        _auth(argon2_time_cost=1)


def test_verify_and_rehash() -> None:
    weak = Passwords(_auth(argon2_time_cost=2, argon2_memory_kib=19_456, argon2_parallelism=1))
    strong = Passwords(_auth())
    h = weak.hash("pass phrase")
    assert strong.verify(h, "pass phrase")
    assert not strong.verify(h, "pass phrase ")
    assert not strong.verify(None, "pass phrase")  # unknown account: same work, False
    assert not strong.verify("not a hash", "x")
    assert strong.needs_rehash(h)
    assert not strong.needs_rehash(strong.hash("y"))


@pytest.mark.parametrize(
    ("password", "user", "expected"),
    [
        ("Tr1cky-Harbour-Lamp", {"email": "ada@example.com"}, []),
        (
            "normal",
            None,
            [
                "This password is too short. It must contain at least 9 characters.",
                "This password is too common.",
            ],
        ),
        ("123456789a", None, ["This password is too common."]),
        ("PASSWORD123", None, ["This password is too common."]),
        ("1353521989", None, ["This password is entirely numeric."]),
        (
            "normal_foo",
            {"email": "normal@user.com"},
            ["The password is too similar to the email address."],
        ),
        ("peanut1234", {"last_name": "Peanut"}, ["The password is too similar to the last name."]),
        # A long password is not weakened by a short attribute it contains.
        ("al-the-quick-brown-fox-jumps", {"first_name": "Al"}, []),
    ],
)
def test_password_rules(password: str, user: dict[str, str] | None, expected: list[str]) -> None:
    assert validate_password(password, min_length=9, user=user) == expected


def test_min_length_message_counts() -> None:
    assert validate_password("abc", min_length=1) == []
    assert "at least 12 characters" in validate_password("Zq8-x", min_length=12)[0]


# ---------------------------------------------------------------- tokens


def test_token_round_trip_and_claims() -> None:
    tokens = Tokens(KEY)
    token, issued = tokens.issue(
        sub="u1", type="access", now=NOW, ttl=timedelta(minutes=15), email="a@b.c"
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = tokens.check(token, type="access", now=NOW + timedelta(minutes=14))
    assert claims.sub == "u1"
    assert claims.jti == issued.jti
    assert claims.exp - claims.iat == 900
    assert claims.extra == {"email": "a@b.c"}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_forged_tokens_are_refused() -> None:
    tokens = Tokens(KEY)
    token, _ = tokens.issue(sub="u1", type="access", now=NOW, ttl=timedelta(minutes=15))
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = [
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        jwt.encode(claims, b"w" * 64, algorithm="HS256"),
        jwt.encode(claims, KEY, algorithm="HS384"),
        f"{header}.{payload}.{signature[::-1]}",
        f"{header}.{_b64({**claims, 'sub': 'admin'})}.{signature}",
        jwt.encode({k: v for k, v in claims.items() if k != "jti"}, KEY, algorithm="HS256"),
        jwt.encode({**claims, "iat": "yesterday"}, KEY, algorithm="HS256"),
        jwt.encode({**claims, "iat": int(NOW.timestamp()) + 3600}, KEY, algorithm="HS256"),
        "a.b.c",
        "",
    ]
    for bad in forged:
        with pytest.raises(TokenError) as caught:
            tokens.check(bad, type="access", now=NOW)
        assert not caught.value.expired, bad


def test_expiry_uses_the_given_clock() -> None:
    tokens = Tokens(KEY)
    token, _ = tokens.issue(sub="u1", type="refresh", now=NOW, ttl=timedelta(days=15))
    tokens.check(token, type="refresh", now=NOW + timedelta(days=15, seconds=-1))
    with pytest.raises(TokenError) as caught:
        tokens.check(token, type="refresh", now=NOW + timedelta(days=15))
    assert caught.value.expired


def test_token_type_is_checked() -> None:
    tokens = Tokens(KEY)
    for kind in ("refresh", "verify", "reset"):
        token, _ = tokens.issue(sub="u1", type=kind, now=NOW, ttl=timedelta(hours=1))
        with pytest.raises(TokenError):
            tokens.check(token, type="access", now=NOW)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Tokens(b"short")


# ---------------------------------------------------------------- API keys and links


def test_api_keys() -> None:
    made = new_api_key()
    assert made.key.startswith(f"th_{made.prefix}_")
    assert api_key_prefix(made.key) == made.prefix
    assert made.key_hash == hash_api_key(made.key)
    assert len(made.key_hash) == 64
    assert made.key not in made.key_hash
    assert new_api_key().key != made.key
    for bad in ("", "th_", "th_abc_x", "xx_0123456789ab_secret", "th_0123456789ab_"):
        assert api_key_prefix(bad) is None


def test_link_ids() -> None:
    assert b64_encode("ada@example.com") == "YWRhQGV4YW1wbGUuY29t"
    assert b64_decode("YWRhQGV4YW1wbGUuY29t") == "ada@example.com"
    with pytest.raises(ValueError):
        b64_decode("%%%")


# ---------------------------------------------------------------- the signing key


def test_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = load_secret_key(_auth(), tmp_path / "data")
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 128  # 64 random bytes, hex
    assert load_secret_key(_auth(), tmp_path / "data") == first
    given = "z" * 40
    assert load_secret_key(_auth(secret_key=SecretStr(given)), tmp_path / "data") == given.encode()
    path.write_text("short")
    with pytest.raises(ValueError, match="delete it"):
        load_secret_key(_auth(), tmp_path / "data")


def _settings(env: str, key: str | None) -> Settings:
    auth = _auth(secret_key=SecretStr(key) if key is not None else None)
    return Settings(_env_file=None, env=env, auth=auth)


def test_production_needs_a_real_key() -> None:
    with pytest.raises(ValidationError, match="TICKHUB_AUTH_SECRET_KEY must be set"):
        _settings("production", None)
    for placeholder in ("changethis", "secret", "ChangeMe"):
        with pytest.raises(ValidationError, match="placeholder"):
            _settings("production", placeholder)
        with pytest.raises(ValidationError, match="placeholder"):
            _settings("test", placeholder)
        _settings("development", placeholder)  # allowed where nothing is at stake
    with pytest.raises(ValidationError, match="at least 32"):
        _settings("production", "0123456789abcdef")
    assert _settings("production", "9" * 64).auth.secret_key is not None
    assert _settings("development", None).auth.secret_key is None
