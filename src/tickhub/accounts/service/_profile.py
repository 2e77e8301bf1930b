"""The profile, the list of users, and the CLI's admin account."""

from __future__ import annotations

from tickhub.accounts.errors import Conflict, Invalid, NotFound
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.service._context import Accounts, Principal, log
from tickhub.accounts.service._passwords import clean_password, password_errors
from tickhub.accounts.service._signup import add_user


async def profile(a: Accounts, principal: Principal) -> UserRecord:
    async with a.uow() as tx:
        user = await tx.accounts.user_by_id(principal.id)
    if user is None:
        raise NotFound("no such user", field="user")
    return user


async def update_profile(
    a: Accounts, principal: Principal, *, first_name: str | None, last_name: str | None
) -> UserRecord:
    values = {
        k: v for k, v in (("first_name", first_name), ("last_name", last_name)) if v is not None
    }
    async with a.uow() as tx:
        repo = tx.accounts
        if values:
            await repo.update_user(principal.id, **values)
        user = await repo.user_by_id(principal.id)
        await tx.commit()
    if user is None:
        raise NotFound("no such user", field="user")
    return user


async def users(a: Accounts, principal: Principal) -> list[UserRecord]:
    """Admins see every account; a user sees their own."""
    async with a.uow() as tx:
        return await tx.accounts.users(principal.scope())


async def create_admin(
    a: Accounts, *, email: str, password: str, promote_existing: bool = False
) -> tuple[UserRecord, bool]:
    """`tickhub admin create`: a new verified admin. An existing account with that e-mail
    is promoted only with `promote_existing` (whoever registered the address first must
    not become admin by it): its password is replaced by `password`, every sign-in is
    ended (refresh tokens revoked, older access tokens refused) and every API key is
    revoked. Without it, `Conflict` naming `email`. Returns the user and whether it is
    new."""
    email = email.strip().lower()
    password = clean_password(password)
    async with a.uow() as tx:
        existing = await tx.accounts.user_by_email(email)
    if existing is None:
        user = await add_user(
            a,
            email=email,
            password=password,
            first_name="",
            last_name="",
            is_verified=True,
            is_admin=True,
        )
        return user, True
    if not promote_existing:
        raise Conflict(
            f"an account with the e-mail {email} exists; promoting it needs "
            "--promote-existing (its password is then reset, its sign-ins and API keys "
            "revoked)",
            field="email",
        )
    attributes = {
        "email": email,
        "first_name": existing.first_name,
        "last_name": existing.last_name,
    }
    errors = password_errors(a, password, attributes)
    if errors:
        raise Invalid(errors[0], errors={"password": errors})
    password_hash = await a.hash_password(password)
    now = a.clock()
    async with a.uow() as tx:
        repo = tx.accounts
        await repo.update_user(
            existing.id,
            is_admin=True,
            is_verified=True,
            password_hash=password_hash,
            password_changed_at=now,
        )
        await repo.revoke_user_refresh(existing.id, now)
        for key in await repo.keys(existing.id):
            await repo.revoke_key(key.id, now)
        promoted = await repo.user_by_id(existing.id)
        await tx.commit()
    assert promoted is not None
    log.warning("user %s promoted to admin: password reset, sign-ins and keys revoked", promoted.id)
    return promoted, False
