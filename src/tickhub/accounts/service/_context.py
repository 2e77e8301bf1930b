"""What every accounts use case needs: its unit of work, the token and password
machinery, settings, the mailer and a clock (tests move time by passing their own)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.accounts.mail import Mailer, Outgoing, mailer_for
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.security import Passwords, Tokens, load_secret_key
from tickhub.accounts.uow import AccountsUnitOfWork, AccountsUowFactory
from tickhub.common.time import utc_now
from tickhub.settings import AuthSettings, Settings

log = logging.getLogger("tickhub.accounts")

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Accounts:
    uow: AccountsUowFactory
    settings: AuthSettings
    tokens: Tokens
    passwords: Passwords
    base_url: str
    mailer: Mailer | None = None
    clock: Clock = field(default=utc_now)

    async def mail(self, to: str, subject: str, body: str) -> bool:
        """Send, when a mailer is configured; a failure is logged, not raised."""
        if self.mailer is None:
            return False
        try:
            await self.mailer.send(to, subject, body)
        except (OSError, ValueError) as exc:  # smtplib errors are OSErrors
            log.error("could not send %r mail: %s", subject, type(exc).__name__)
            return False
        return True

    async def send(self, mail: Outgoing) -> bool:
        """`mail`, after an answer (a background task of the route that answered)."""
        return await self.mail(mail.to, mail.subject, mail.body)

    async def hash_password(self, password: str) -> str:
        return await asyncio.to_thread(self.passwords.hash, password)

    async def check_password(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.passwords.verify, password_hash, password)


def build_accounts(
    settings: Settings,
    engine: AsyncEngine,
    *,
    mailer: Mailer | None = None,
    clock: Clock = utc_now,
) -> Accounts:
    """Wire the accounts use cases on `engine`. Reads (or, in development, creates) the
    signing key."""
    key = load_secret_key(settings.auth, settings.data_dir)
    return Accounts(
        uow=AccountsUnitOfWork.factory(engine),
        settings=settings.auth,
        tokens=Tokens(key),
        passwords=Passwords(settings.auth),
        base_url=settings.public_base_url,
        mailer=mailer if mailer is not None else mailer_for(settings.smtp),
        clock=clock,
    )


def server_key(settings: Settings) -> bytes:
    """The server's secret key (the one tokens are signed with), read or, in
    development, created. Other contexts derive keys of their own from it (HKDF), never
    use it raw."""
    return load_secret_key(settings.auth, settings.data_dir)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user, by access token or by API key."""

    user: UserRecord
    via: Literal["token", "api_key"]
    api_key_id: str | None = None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin

    def scope(self, wanted: str | None = None) -> str | None:
        """The user id to filter owned objects on: the caller's own, or for an admin
        `wanted` (None: everyone's)."""
        return wanted if self.is_admin else self.id
