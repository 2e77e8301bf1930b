"""The profile, the list of users, and the CLI's admin account."""

from __future__ import annotations

from tickhub.accounts.errors import NotFound
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.service._context import Accounts, Principal
from tickhub.accounts.service._identity import _add_user, clean_password


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


async def create_admin(a: Accounts, *, email: str, password: str) -> tuple[UserRecord, bool]:
    """`tickhub admin create`: a new verified admin, or an existing account promoted and
    verified (its password is left as it is). Returns the user and whether it is new."""
    email = email.strip().lower()
    async with a.uow() as tx:
        repo = tx.accounts
        existing = await repo.user_by_email(email)
        if existing is not None:
            await repo.update_user(existing.id, is_admin=True, is_verified=True)
            user = await repo.user_by_id(existing.id)
            assert user is not None
            await tx.commit()
            return user, False
    user = await _add_user(
        a,
        email=email,
        password=clean_password(password),
        first_name="",
        last_name="",
        is_verified=True,
        is_admin=True,
    )
    return user, True
