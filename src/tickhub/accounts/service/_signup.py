"""Sign-up and e-mail verification."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from tickhub.accounts.errors import Conflict, Invalid
from tickhub.accounts.mail import (
    Outgoing,
    already_registered_mail,
    verification_mail,
)
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.security import (
    TokenError,
    b64_decode,
    b64_encode,
)
from tickhub.accounts.service._context import Accounts, log
from tickhub.accounts.service._passwords import clean_password, password_errors
from tickhub.accounts.service._tokens import check_credentials
from tickhub.common.uow import ConstraintViolation


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
    user = await add_user(
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
    errors = password_errors(a, password, attributes)
    if errors:
        raise Invalid(errors[0], errors={"password": errors})
    await a.hash_password(password)  # a new registration's cost: the timing says nothing
    log.info("registration asked for the address of user %s: the owner is told", existing.id)
    mail = Outgoing(existing.email, *already_registered_mail(a.base_url))
    return Registration(existing, None, mail=mail, existing=True)


async def add_user(
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
    errors = password_errors(a, password, attributes)
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
    user = await check_credentials(a, email, password)
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
