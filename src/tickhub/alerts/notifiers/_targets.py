"""E-mail addresses, Telegram chats and apprise targets that message a person (SMS,
WhatsApp, e-mail APIs) proven by their user before alerts go there.

The first delivery to a target the user has not proven sends a confirmation message
with a six-digit code instead (at most one an hour per target) and waits; the user
posts the code (`confirm_target`) and the next attempt sends the alert. The code is
kept only as a hash, lives 24 hours, and five wrong tries void it (a new one is sent
with the next delivery). So tickhub never relays alerts to someone else's inbox, chat
or phone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from tickhub.alerts.notifiers._outcome import Outcome
from tickhub.alerts.notifiers._uow import OutboxUowFactory
from tickhub.common import errors

PROVEN_CHANNELS = frozenset({"email", "telegram"})
CODE_TTL = timedelta(hours=24)
RESEND_AFTER = timedelta(hours=1)
MAX_WRONG_CODES = 5
# A delivery waiting for its target's confirmation is tried again after this long.
WAIT_FOR_CONFIRMATION_S = 60.0
CONFIRM_PATH = "POST /v1/alerts/targets/confirm"


def code_hash(user_id: str, channel: str, target: str, code: str) -> str:
    return hashlib.sha256("\0".join((user_id, channel, target, code)).encode()).hexdigest()


def _where(channel: str) -> str:
    return {"email": "address", "telegram": "chat"}.get(channel, "recipient")


def confirmation_text(channel: str, code: str) -> tuple[str, str]:
    """(subject, body) of the message that carries the code."""
    where = _where(channel)
    return (
        "tickhub: confirm alerts to this " + where,
        f"Someone (hopefully you) asked tickhub to send alerts to this {where}.\n"
        f"Confirmation code: {code}\n"
        f"Enter it in tickhub ({CONFIRM_PATH}) within 24 hours. "
        "If it was not you, ignore this message: nothing more will be sent here.",
    )


async def code_to_send(
    outbox: OutboxUowFactory, *, user_id: str, channel: str, target: str, now: datetime
) -> tuple[bool, str | None]:
    """(proven, code): whether alerts may go to the target; if not, a fresh code to send
    there now (None when one was sent within the hour)."""
    async with outbox() as tx:
        found = await tx.outbox.target(user_id, channel, target)
        if found is None:
            await tx.outbox.add_target(user_id, channel, target, now)
            found = await tx.outbox.target(user_id, channel, target)
            assert found is not None
        if found.confirmed_at is not None:
            return True, None
        if found.code_sent_at is not None and now - found.code_sent_at < RESEND_AFTER:
            await tx.commit()
            return False, None
        code = f"{secrets.randbelow(10**6):06d}"
        await tx.outbox.update_target(
            found.id,
            code_hash=code_hash(user_id, channel, target, code),
            code_sent_at=now,
            wrong_codes=0,
        )
        await tx.commit()
        return False, code


def waiting(channel: str) -> Outcome:
    where = _where(channel)
    return Outcome.retry(
        f"waiting for the {where} to be confirmed with the code sent there ({CONFIRM_PATH})",
        retry_after_s=WAIT_FOR_CONFIRMATION_S,
    )


async def confirm_target(
    outbox: OutboxUowFactory,
    *,
    user_id: str,
    channel: str,
    target: str,
    code: str,
    now: datetime,
) -> None:
    """Prove `target` the user's with the code sent there; raises a domain error naming
    the field at fault."""
    async with outbox() as tx:
        found = await tx.outbox.target(user_id, channel, target)
        if found is None or (found.code_hash is None and found.confirmed_at is None):
            raise errors.NotFound(
                "no confirmation code was sent to this target: add it to a strategy first",
                field="target",
            )
        if found.confirmed_at is not None:
            return
        if found.code_sent_at is None or now - found.code_sent_at > CODE_TTL:
            raise errors.Unprocessable(
                "the code has expired: a new one is sent with the next alert", field="code"
            )
        wanted = found.code_hash or ""
        if not hmac.compare_digest(wanted, code_hash(user_id, channel, target, code)):
            wrong = found.wrong_codes + 1
            values: dict[str, object] = {"wrong_codes": wrong}
            if wrong >= MAX_WRONG_CODES:  # void it: a new code comes with the next alert
                values |= {"code_hash": None, "code_sent_at": None}
            await tx.outbox.update_target(found.id, **values)
            await tx.commit()
            raise errors.Unprocessable("wrong code", field="code")
        await tx.outbox.update_target(found.id, confirmed_at=now, code_hash=None)
        await tx.commit()
