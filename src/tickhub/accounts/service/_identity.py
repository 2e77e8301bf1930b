"""Sign-up, e-mail verification, sign-in, token rotation and passwords."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tickhub.accounts.errors import Conflict, Invalid, InvalidCredentials
from tickhub.accounts.mail import (
    Outgoing,
    already_registered_mail,
    reset_mail,
    verification_mail,
)
from tickhub.accounts.passwords import validate_password
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.security import (
    TokenError,
    b64_decode,
    b64_encode,
    password_fingerprint,
)
from tickhub.accounts.service._context import Accounts, Principal, log
from tickhub.accounts.uow import AccountsStore
from tickhub.common.uow import ConstraintViolation

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


@dataclass(frozen=True, slots=True)
class Registration:
    user: UserRecord
    # The link, when the caller is to be given it (no SMTP); None when it is mailed or
    # no verification is needed.
    verification_link: str | None
    # The mail to send once the caller has its answer: the link, or (`existing`) a word
    # to the owner of an address that already had an account.
    mail: Outgoing | None = None
    # The address already had an account: the answer must not say so (see `register`).
    existing: bool = False


class VerificationFailed(Invalid):
    """A verification link that does not verify; `seed_key` is the seed's data key."""

    def __init__(self, message: str, seed_key: str = "message") -> None:
        super().__init__(message, field="token", seed_data={seed_key: message})


class ResetLinkInvalid(Invalid):
    def __init__(self, message: str = "Token is not valid") -> None:
        super().__init__(message, field="token", seed_data={"error": message})


def clean_password(password: str) -> str:
    """Seed 003 trims passwords on sign-up and sign-in alike; so does tickhub, everywhere."""
    return password.strip()


def _password_errors(a: Accounts, password: str, user: dict[str, str]) -> list[str]:
    return validate_password(
        password,
        min_length=a.settings.password_min_length,
        user=user if a.settings.password_check_similarity else None,
    )


# ---------------------------------------------------------------- sign-up


async def register(
    a: Accounts, *, email: str, password: str, first_name: str, last_name: str
) -> Registration:
    """Create an account; 400 naming `password` when it is weak. Verified at once when
    `require_verification` is off.

    An address that already has an account: where the link is mailed (verification
    required, SMTP set), the answer is the one a new registration gets, after the same
    checks and the same password hashing, and the owner is mailed a word about it, so
    neither the answer nor its timing says whether the address is registered. Otherwise
    409: seed 003's own test of a duplicate registration demands it (with verification
    off), and without SMTP the answer carries the link, so it cannot look the same."""
    password = clean_password(password)
    async with a.uow() as tx:
        existing = await tx.accounts.user_by_email(email)
    if existing is not None:
        if not (a.settings.require_verification and a.mailer is not None):
            raise Conflict(f"The email '{email}' already exists!", field="email")
        return await _registered_already(a, existing, password, first_name, last_name)
    user = await _add_user(
        a,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        is_verified=not a.settings.require_verification,
        is_admin=False,
    )
    log.info("user %s registered", user.id)
    if not a.settings.require_verification:
        return Registration(user, None)
    return _verification(a, user)


async def _registered_already(
    a: Accounts, existing: UserRecord, password: str, first_name: str, last_name: str
) -> Registration:
    attributes = {"email": existing.email, "first_name": first_name, "last_name": last_name}
    errors = _password_errors(a, password, attributes)
    if errors:
        raise Invalid(errors[0], errors={"password": errors})
    await a.hash_password(password)  # a new registration's cost: the timing says nothing
    log.info("registration asked for the address of user %s: the owner is told", existing.id)
    mail = Outgoing(existing.email, *already_registered_mail(a.base_url))
    return Registration(existing, None, mail=mail, existing=True)


async def _add_user(
    a: Accounts,
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    is_verified: bool,
    is_admin: bool,
) -> UserRecord:
    """Check the password, hash it and insert the account in one transaction; 400 naming
    `password` when it is weak, 409 when the address is taken meanwhile."""
    attributes = {"email": email, "first_name": first_name, "last_name": last_name}
    errors = _password_errors(a, password, attributes)
    if errors:
        raise Invalid(errors[0], errors={"password": errors})
    password_hash = await a.hash_password(password)
    now = a.clock()
    user_id = str(uuid.uuid4())
    try:
        async with a.uow() as tx:
            repo = tx.accounts
            await repo.add_user(
                id=user_id,
                email=email,
                password_hash=password_hash,
                first_name=first_name,
                last_name=last_name,
                is_verified=is_verified,
                is_admin=is_admin,
                created_at=now,
                password_changed_at=now,
            )
            user = await repo.user_by_id(user_id)
            await tx.commit()
    except ConstraintViolation as exc:  # a concurrent sign-up with the same address
        raise Conflict(f"The email '{email}' already exists!", field="email") from exc
    assert user is not None
    return user


def _verification(a: Accounts, user: UserRecord) -> Registration:
    link = verification_link(a, user)
    if a.mailer is None:
        return Registration(user, link)
    return Registration(user, None, mail=Outgoing(user.email, *verification_mail(link)))


def verification_link(a: Accounts, user: UserRecord) -> str:
    token, _ = a.tokens.issue(
        sub=user.id,
        type="verify",
        now=a.clock(),
        ttl=timedelta(seconds=a.settings.verify_ttl_s),
        email=user.email,
    )
    return f"{a.base_url}/api/user/verify/{b64_encode(user.email)}/{token}"


async def resend_verification(a: Accounts, *, email: str, password: str) -> Registration:
    """Seed 003 `verify/generate-link`: a new link for whoever knows the password."""
    user = await _check_credentials(a, email, password)
    if user is None:
        message = "Invalid credentials."
        raise Invalid(message, errors={"non_field_errors": [message]})
    return _verification(a, user)


async def verify_email(a: Accounts, *, uid: str, token: str) -> UserRecord:
    """Follow a verification link; `VerificationFailed` with the seed's messages."""
    try:
        claims = a.tokens.check(token, type="verify", now=a.clock())
    except TokenError as exc:
        if exc.expired:
            raise VerificationFailed("Validation token has expired.") from exc
        raise VerificationFailed("Validation token is invalid.") from exc
    async with a.uow() as tx:
        repo = tx.accounts
        user = await repo.user_by_id(claims.sub)
        if user is None:
            raise VerificationFailed("User does not exist.")
        try:
            email = b64_decode(uid)
        except ValueError as exc:
            raise VerificationFailed("An error occurred, please retry") from exc
        if email != user.email or claims.extra.get("email") != user.email:
            raise VerificationFailed("Invalid activation link.")
        if user.is_verified:
            raise VerificationFailed("User is already verified", seed_key="response")
        await repo.update_user(user.id, is_verified=True)
        await tx.commit()
    log.info("user %s verified", user.id)
    return user


# ---------------------------------------------------------------- sign-in and tokens


async def _check_credentials(a: Accounts, email: str, password: str) -> UserRecord | None:
    async with a.uow() as tx:
        user = await tx.accounts.user_by_email(email.strip().lower())
    ok = await a.check_password(user.password_hash if user else None, clean_password(password))
    return user if ok else None


async def login(a: Accounts, *, email: str, password: str) -> TokenPair:
    """Seed 003 `POST /api/token`. Unverified accounts are refused when verification is
    required (after the password is checked, so this reveals nothing to strangers)."""
    user = await _check_credentials(a, email, password)
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


# ---------------------------------------------------------------- passwords


async def change_password(
    a: Accounts, principal: Principal, *, current_password: str, new_password: str
) -> None:
    """Needs the current password. Signs out every session (refresh tokens revoked,
    access tokens issued before now refused)."""
    user = principal.user
    if not await a.check_password(user.password_hash, clean_password(current_password)):
        raise Invalid("the current password is wrong", field="current_password")
    try:
        await _set_password(a, user, clean_password(new_password), field="new_password")
    except ResetLinkInvalid as exc:
        raise Conflict("the password changed meanwhile; try again", field="password") from exc
    log.info("user %s changed password", user.id)


async def _set_password(
    a: Accounts, user: UserRecord, password: str, *, field: str, verify: bool = False
) -> None:
    attributes = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    errors = _password_errors(a, password, attributes)
    if errors:
        raise Invalid(errors[0], errors={field: errors})
    password_hash = await a.hash_password(password)
    now = a.clock()
    async with a.uow() as tx:
        repo = tx.accounts
        current = await repo.user_by_id(user.id)
        if current is None or current.password_hash != user.password_hash:
            # Changed meanwhile: a reset link works once, a stale form does not win.
            raise ResetLinkInvalid("Token has already been used")
        values: dict[str, Any] = {"password_hash": password_hash, "password_changed_at": now}
        if verify:
            values["is_verified"] = True
        await repo.update_user(user.id, **values)
        await repo.revoke_user_refresh(user.id, now)
        await tx.commit()


async def request_password_reset(a: Accounts, *, email: str) -> Outgoing | None:
    """The signed, single-use, expiring reset link to mail when the account exists, for
    the caller to send after answering: the answer, and its timing, are the same either
    way. Without SMTP nothing is sent: the link is never put in a response or a log."""
    async with a.uow() as tx:
        user = await tx.accounts.user_by_email(email)
    if user is None:
        return None
    if a.mailer is None:
        log.warning("password reset asked, but no SMTP is configured (TICKHUB_SMTP_HOST)")
        return None
    token, _ = a.tokens.issue(
        sub=user.id,
        type="reset",
        now=a.clock(),
        ttl=timedelta(seconds=a.settings.reset_ttl_s),
        pwd=password_fingerprint(user.password_hash),
    )
    link = f"{a.base_url}/api/user/password-reset-confirm/{b64_encode(user.id)}/{token}"
    return Outgoing(user.email, *reset_mail(link, a.settings.reset_ttl_s))


async def check_reset_link(a: Accounts, *, uidb64: str, token: str) -> UserRecord:
    """The account a reset link is for; `ResetLinkInvalid` when it is forged, expired,
    for someone else, or already used (the password changed since it was made)."""
    try:
        user_id = b64_decode(uidb64)
        claims = a.tokens.check(token, type="reset", now=a.clock())
    except (ValueError, TokenError) as exc:
        raise ResetLinkInvalid() from exc
    if claims.sub != user_id:
        raise ResetLinkInvalid()
    async with a.uow() as tx:
        user = await tx.accounts.user_by_id(user_id)
    if user is None:
        raise ResetLinkInvalid()
    if claims.extra.get("pwd") != password_fingerprint(user.password_hash):
        raise ResetLinkInvalid("Token has already been used")
    return user


async def complete_reset(a: Accounts, *, uidb64: str, token: str, password: str) -> None:
    """Set the new password. Following the link proves the address, so the account is
    verified too; every session is signed out."""
    try:
        user = await check_reset_link(a, uidb64=uidb64, token=token)
    except ResetLinkInvalid as exc:
        raise Invalid("Invalid token", field="token") from exc
    try:
        await _set_password(a, user, clean_password(password), field="password", verify=True)
    except ResetLinkInvalid as exc:
        raise Invalid("Invalid token", field="token") from exc
    log.info("user %s reset password", user.id)
