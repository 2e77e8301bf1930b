"""The delivery worker: sends the outbox rows the scanner wrote with its alerts.

One pass (`deliver_due`) claims the due pending rows, sends them concurrently (each
within `TICKHUB_NOTIFY_TIMEOUT_S`), and records each attempt: `sent`, a retry after an
exponential backoff (`TICKHUB_NOTIFY_BACKOFF_S`, doubling; longer when the receiver asks
with `Retry-After`), or `failed` when trying again cannot help or the
`TICKHUB_NOTIFY_ATTEMPTS` are used up. `run()` repeats passes until cancelled: at once
after `wake()`, else when the next retry is due or at the poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from tickhub.alerts.notifiers import _store as store
from tickhub.alerts.notifiers._apprise import AppriseNotifier
from tickhub.alerts.notifiers._email import EmailNotifier
from tickhub.alerts.notifiers._guard import AddressPolicy, Resolver, system_resolver
from tickhub.alerts.notifiers._message import (
    apprise_message,
    email_message,
    telegram_text,
    webhook_body,
)
from tickhub.alerts.notifiers._outcome import Outcome, clip, exception_text
from tickhub.alerts.notifiers._sealed import ChannelKeys, channel_keys
from tickhub.alerts.notifiers._targets import (
    PROVEN_CHANNELS,
    code_to_send,
    confirmation_text,
    waiting,
)
from tickhub.alerts.notifiers._telegram import TelegramNotifier, hide_bot_tokens
from tickhub.alerts.notifiers._uow import OutboxUowFactory
from tickhub.alerts.notifiers._webhook import USER_AGENT, WebhookNotifier
from tickhub.common.time import utc_now
from tickhub.settings import Settings

logger = logging.getLogger("tickhub.alerts.notifiers")

# How a channel object names its target (the `target` column holds that value).
TARGET_KEYS = {"webhook": "url", "telegram": "chat_id", "email": "to", "apprise": "id"}
# The longest wait between two attempts, whatever the backoff or Retry-After says.
MAX_DELAY_S = 86_400.0
# A claimed row is not claimed again before `lease_s(timeout)` has passed.
LEASE_MARGIN_S = 30.0


def lease_s(timeout_s: float) -> float:
    """How long a claim holds: longer than any send may take (an SMTP connection may use
    its timeout once to connect and once more for the rest), plus recording time."""
    return 2 * timeout_s + LEASE_MARGIN_S


def channel_config(
    channels: list[dict[str, Any]], channel: str, target: str
) -> dict[str, Any] | None:
    """The strategy's channel object of this type and target, if it still has one."""
    key = TARGET_KEYS.get(channel)
    if key is None:
        return None
    for candidate in channels:
        if (
            isinstance(candidate, dict)
            and candidate.get("type") == channel
            and candidate.get(key) is not None
            and str(candidate[key]) == target
        ):
            return candidate
    return None


class DeliveryWorker:
    """Delivers alerts through webhooks, Telegram, e-mail and apprise.

    Several workers (in several processes) may run over one PostgreSQL database: each
    row is claimed by one of them at a time. On SQLite, run one.

    `outbox` makes the units of work on the outbox (`OutboxUnitOfWork.factory(engine)`):
    a pass uses several short ones, never one across a send.

    `http` is a client to use instead of the worker's own (which `aclose()` closes);
    `batch_size` rows are claimed and sent at once per pass. `resolver` finds a webhook
    host's addresses (the system's by default), which `TICKHUB_NOTIFY_ALLOW_HOSTS` and
    the rules of `_guard` judge before any connection (apprise's too). `keys` open the
    sealed apprise URLs (by default, derived from the server's key).
    """

    def __init__(
        self,
        outbox: OutboxUowFactory,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        poll_interval_s: float = 5.0,
        batch_size: int = 16,
        clock: Callable[[], datetime] = utc_now,
        smtp_tls_context: ssl.SSLContext | None = None,
        resolver: Resolver = system_resolver,
        keys: ChannelKeys | None = None,
    ) -> None:
        if poll_interval_s <= 0 or batch_size < 1:
            raise ValueError("poll_interval_s must be > 0 and batch_size >= 1")
        self._outbox = outbox
        self._notify = settings.notify
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max(10, 2 * batch_size)),
        )
        timeout_s = self._notify.notify_timeout_s
        policy = AddressPolicy(self._notify.notify_allow_hosts)
        self._webhook = WebhookNotifier(
            self._http, timeout_s=timeout_s, policy=policy, resolver=resolver
        )
        self._apprise = AppriseNotifier(
            keys or channel_keys(settings),
            timeout_s=timeout_s,
            concurrency=batch_size,
            policy=policy,
            resolver=resolver,
        )
        self._telegram = TelegramNotifier(
            self._http,
            api_url=self._notify.telegram_api_url,
            token=self._notify.telegram_bot_token,
            timeout_s=timeout_s,
        )
        self._email = EmailNotifier(
            settings.smtp,
            timeout_s=timeout_s,
            concurrency=batch_size,
            tls_context=smtp_tls_context,
        )
        hide_bot_tokens()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._email.close()
        self._apprise.close()
        if self._own_http:
            await self._http.aclose()

    def wake(self) -> None:
        """New deliveries were committed: start a pass now rather than at the next poll.
        Call it from the worker's event loop."""
        self._idle.clear()
        self._wakeup.set()

    async def wait_idle(self) -> None:
        """Return once `run()` has finished its passes (up to the last `wake()`) and is
        waiting for more work."""
        await self._idle.wait()

    async def run(self) -> None:
        """Deliver until cancelled. A failing pass (the database away) is logged and
        tried again at the poll interval."""
        while True:
            self._wakeup.clear()
            try:
                done = await self.deliver_due(self._clock())
                if done >= self._batch_size:
                    continue  # there may be more due rows right away
                wait = await self._until_next_due(self._clock())
            except Exception:
                logger.exception("alert delivery pass failed; trying again")
                wait = self._poll_interval_s
            if wait > 0:
                if not self._wakeup.is_set():
                    self._idle.set()
                try:
                    async with asyncio.timeout(wait):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass

    async def _until_next_due(self, now: datetime) -> float:
        async with self._outbox() as tx:
            due = await tx.outbox.next_due()
        if due is None:
            return self._poll_interval_s
        return min(self._poll_interval_s, max(0.0, (due - now).total_seconds()))

    async def deliver_due(self, now: datetime | None = None) -> int:
        """One pass: claim the rows due at `now` (default: the clock), send them, record
        each result. Returns how many were attempted."""
        now = self._clock() if now is None else now
        lease_until = now + timedelta(seconds=lease_s(self._notify.notify_timeout_s))
        async with self._outbox() as tx:
            interrupted = await tx.outbox.fail_interrupted(
                now=now, max_attempts=self._notify.notify_attempts
            )
            await tx.commit()
        async with self._outbox() as tx:
            claimed = await tx.outbox.claim_due(
                now=now,
                lease_until=lease_until,
                limit=self._batch_size,
                max_attempts=self._notify.notify_attempts,
                per_user_hour=self._notify.notify_user_hourly,
            )
            await tx.commit()
        if interrupted:
            logger.warning(
                "%d alert deliveries failed: interrupted on their last attempt", interrupted
            )
        if not claimed:
            return 0
        async with self._outbox() as tx:
            alerts = await tx.outbox.load_alerts([c.alert_id for c in claimed])
        await asyncio.gather(*(self._deliver(c, alerts.get(c.alert_id), now) for c in claimed))
        return len(claimed)

    async def _deliver(
        self, claimed: store.Claimed, alert: store.LoadedAlert | None, now: datetime
    ) -> None:
        try:
            outcome = await self._attempt(claimed, alert, now)
        except Exception as exc:  # a notifier's bug must not stop the other deliveries
            logger.exception(
                "alert delivery %d (%s) raised; will try again", claimed.id, claimed.channel
            )
            outcome = Outcome.retry(f"internal error: {exception_text(exc)}")
        try:
            await self._record(claimed, outcome, now)
        except Exception:
            logger.exception(
                "could not record alert delivery %d; it is tried again when its lease ends",
                claimed.id,
            )

    async def _attempt(
        self, claimed: store.Claimed, alert: store.LoadedAlert | None, now: datetime
    ) -> Outcome:
        if alert is None:
            return Outcome.failed("the alert no longer exists")
        if alert.channels is None:
            return Outcome.failed("the strategy was deleted before the alert was delivered")
        config = channel_config(alert.channels, claimed.channel, claimed.target)
        if config is None:
            return Outcome.failed(
                f"the strategy no longer has this {claimed.channel} channel"
                if claimed.channel in TARGET_KEYS
                else f"unknown channel type {claimed.channel!r}"
            )
        message = alert.message
        timeout_s = self._notify.notify_timeout_s
        if claimed.channel in PROVEN_CHANNELS or config.get("proof") is True:
            proven, code = await code_to_send(
                self._outbox,
                user_id=message.user_id,
                channel=claimed.channel,
                target=claimed.target,
                now=now,
            )
            if not proven:
                if code is not None:
                    sent = await self._send_code(claimed, config, code, now)
                    if sent.kind != "sent":
                        await self._forget_code(message.user_id, claimed)
                        return Outcome.retry(f"confirmation message not sent: {sent.error}")
                return waiting(claimed.channel)
        if claimed.channel == "apprise":  # bounded by its own deadline
            title, body = apprise_message(message)
            return await self._apprise.send(
                sealed=str(config.get("sealed", "")), title=title, body=body
            )
        if claimed.channel == "email":
            # Bounded by its own deadline, never abandoned half-way (see EmailNotifier).
            subject, body = email_message(message)
            return await self._email.send(
                to=claimed.target, subject=subject, body=body, delivery_id=claimed.id, now=now
            )
        try:
            async with asyncio.timeout(timeout_s):
                if claimed.channel == "webhook":
                    secret = config.get("secret")
                    return await self._webhook.send(
                        url=claimed.target,
                        secret=secret if isinstance(secret, str) else "",
                        body=webhook_body(message),
                        delivery_id=claimed.id,
                        now=now,
                    )
                return await self._telegram.send(
                    chat_id=claimed.target, text=telegram_text(message), now=now
                )
        except TimeoutError:
            return Outcome.retry(f"timeout ({timeout_s:g} s)")

    async def _send_code(
        self, claimed: store.Claimed, config: dict[str, Any], code: str, now: datetime
    ) -> Outcome:
        """The confirmation message with `code`, instead of the alert."""
        subject, body = confirmation_text(claimed.channel, code)
        if claimed.channel == "apprise":
            sealed = str(config.get("sealed", ""))
            return await self._apprise.send(sealed=sealed, title=subject, body=body)
        if claimed.channel == "email":
            return await self._email.send(
                to=claimed.target, subject=subject, body=body, delivery_id=claimed.id, now=now
            )
        try:
            async with asyncio.timeout(self._notify.notify_timeout_s):
                return await self._telegram.send(
                    chat_id=claimed.target, text=f"{subject}\n\n{body}", now=now
                )
        except TimeoutError:
            return Outcome.retry("timeout")

    async def _forget_code(self, user_id: str, claimed: store.Claimed) -> None:
        """The code did not go out: the next attempt sends a new one."""
        async with self._outbox() as tx:
            found = await tx.outbox.target(user_id, claimed.channel, claimed.target)
            if found is not None:
                await tx.outbox.update_target(found.id, code_hash=None, code_sent_at=None)
                await tx.commit()

    def _delay_s(self, attempts: int, outcome: Outcome) -> float:
        backoff = self._notify.notify_backoff_s * 2.0 ** min(attempts - 1, 40)
        return min(MAX_DELAY_S, max(backoff, outcome.retry_after_s or 0.0))

    async def _record(self, claimed: store.Claimed, outcome: Outcome, now: datetime) -> None:
        max_attempts = self._notify.notify_attempts
        status: str = outcome.kind
        error, next_at = outcome.error, now
        if outcome.kind == "retry":
            if claimed.attempts >= max_attempts:
                status = store.FAILED
                error = clip(f"{error} (gave up after {claimed.attempts} attempts)")
            else:
                status = store.PENDING
                next_at = now + timedelta(seconds=self._delay_s(claimed.attempts, outcome))
        async with self._outbox() as tx:
            recorded = await tx.outbox.record(
                claimed,
                status=status,
                response_status=outcome.status,
                last_error=error,
                next_attempt_at=next_at,
                delivered_at=now if status == store.SENT else None,
            )
            await tx.commit()
        where = f"alert delivery {claimed.id} (alert {claimed.alert_id}, {claimed.channel})"
        if not recorded:
            logger.warning(
                "%s: attempt %d outlived its lease; result dropped", where, claimed.attempts
            )
        elif status == store.SENT:
            logger.info("%s sent on attempt %d", where, claimed.attempts)
        elif status == store.PENDING:
            logger.warning(
                "%s attempt %d failed, next at %s: %s",
                where,
                claimed.attempts,
                next_at.isoformat(),
                error,
            )
        else:
            logger.error("%s failed after %d attempt(s): %s", where, claimed.attempts, error)
