"""Passwords: the seed's trimming and validators, changing one, and the reset by e-mailed link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tickhub.accounts.errors import Conflict, Invalid
from tickhub.accounts.mail import (
    Outgoing,
    reset_mail,
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


class ResetLinkInvalid(Invalid):
    def __init__(self, message: str = "Token is not valid") -> None:
        super().__init__(message, field="token", seed_data={"error": message})


def clean_password(password: str) -> str:
    """Seed 003 trims passwords on sign-up and sign-in alike; so does tickhub, everywhere."""
    return password.strip()


def password_errors(a: Accounts, password: str, user: dict[str, str]) -> list[str]:
    return validate_password(
        password,
        min_length=a.settings.password_min_length,
        user=user if a.settings.password_check_similarity else None,
    )


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
    errors = password_errors(a, password, attributes)
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
