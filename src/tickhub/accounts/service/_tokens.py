"""Sign-in and tokens: credentials checked, the access/refresh pair issued and rotated (a refresh
token is used once), and an access token turned back into its principal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickhub.accounts.errors import Invalid, InvalidCredentials
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.security import TokenError, password_fingerprint
from tickhub.accounts.service._context import Accounts, Principal, log
from tickhub.accounts.service._passwords import clean_password
from tickhub.accounts.uow import AccountsStore

# Seed 003's words (simplejwt and its views), which its clients may show or match.
TOKEN_INVALID = "Token is invalid or expired"  # noqa: S105  (messages, not secrets)
TOKEN_REUSED = "Token is blacklisted"  # noqa: S105
ACCESS_INVALID = "Given token not valid for any token type"
API_KEY_INVALID = "Invalid API key."
PURGE_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str


async def check_credentials(a: Accounts, email: str, password: str) -> UserRecord | None:
    async with a.uow() as tx:
        user = await tx.accounts.user_by_email(email.strip().lower())
    ok = await a.check_password(user.password_hash if user else None, clean_password(password))
    return user if ok else None


async def login(a: Accounts, *, email: str, password: str) -> TokenPair:
    """Seed 003 `POST /api/token`. Unverified accounts are refused when verification is
    required (after the password is checked, so this reveals nothing to strangers)."""
    user = await check_credentials(a, email, password)
    if user is None:
        log.info("sign-in refused: bad credentials")
        message = "Invalid login credentials"
        raise Invalid(message, errors={"non_field_errors": [message]})
    if a.settings.require_verification and not user.is_verified:
        message = "Email not verified"
        raise Invalid(message, errors={"non_field_errors": [message]})
    now = a.clock()
    new_hash = None
    if a.passwords.needs_rehash(user.password_hash):
        new_hash = await a.hash_password(clean_password(password))
    async with a.uow() as tx:
        repo = tx.accounts
        if new_hash is not None:
            await repo.update_user(user.id, password_hash=new_hash)
        await repo.purge_refresh(user.id, before=now - PURGE_AFTER)
        pair = await _issue_pair(
            a, repo, user, now, family=uuid.uuid4().hex, password_hash=new_hash
        )
        await tx.commit()
    log.info("user %s signed in", user.id)
    return pair


async def _issue_pair(
    a: Accounts,
    repo: AccountsStore,
    user: UserRecord,
    now: datetime,
    *,
    family: str,
    password_hash: str | None = None,
) -> TokenPair:
    """`pwd` ties the access token to the password it was signed in with (the hash as it
    is after this sign-in: `password_hash` when it was just rehashed)."""
    access, _ = a.tokens.issue(
        pwd=password_fingerprint(password_hash or user.password_hash),
        sub=user.id,
        type="access",
        now=now,
        ttl=timedelta(seconds=a.settings.access_ttl_s),
        user_id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
    )
    refresh, claims = a.tokens.issue(
        sub=user.id,
        type="refresh",
        now=now,
        ttl=timedelta(seconds=a.settings.refresh_ttl_s),
        family=family,
    )
    await repo.add_refresh(
        jti=claims.jti,
        user_id=user.id,
        family=family,
        issued_at=now,
        expires_at=now + timedelta(seconds=a.settings.refresh_ttl_s),
    )
    return TokenPair(access, refresh)


async def refresh(a: Accounts, *, token: str) -> TokenPair:
    """Rotate: the refresh token is used up and a new pair issued. A refresh token that
    was already used (or revoked) revokes its whole family: whoever holds a copy of a
    stolen token, thief or owner, must sign in again."""
    now = a.clock()
    try:
        claims = a.tokens.check(token, type="refresh", now=now)
    except TokenError as exc:
        raise InvalidCredentials(TOKEN_INVALID, field="refresh") from exc
    async with a.uow() as tx:
        repo = tx.accounts
        record = await repo.refresh_by_jti(claims.jti)
        if record is None or record.user_id != claims.sub:
            raise InvalidCredentials(TOKEN_INVALID, field="refresh")
        if not await repo.use_refresh(claims.jti, now):
            await repo.revoke_family(record.family, now)
            pair = None
        else:
            user = await repo.user_by_id(record.user_id)
            if user is None:
                raise InvalidCredentials(TOKEN_INVALID, field="refresh")
            pair = await _issue_pair(a, repo, user, now, family=record.family)
        await tx.commit()
    if pair is None:
        log.warning("refresh token reuse for user %s: its family is revoked", record.user_id)
        raise InvalidCredentials(TOKEN_REUSED, field="refresh")
    return pair


async def authenticate_token(a: Accounts, token: str) -> Principal:
    """The caller of a valid access token. Tokens issued before the last password change
    are refused, and so are those signed in with another password (a change in the same
    second as the sign-in)."""
    try:
        claims = a.tokens.check(token, type="access", now=a.clock())
    except TokenError as exc:
        raise InvalidCredentials(ACCESS_INVALID) from exc
    async with a.uow() as tx:
        user = await tx.accounts.user_by_id(claims.sub)
    if user is None or claims.iat < int(user.password_changed_at.timestamp()):
        raise InvalidCredentials(ACCESS_INVALID)
    pwd = claims.extra.get("pwd")
    if pwd is not None and pwd != password_fingerprint(user.password_hash):
        raise InvalidCredentials(ACCESS_INVALID)
    return Principal(user, via="token")
