"""apprise: one channel for SMS, WhatsApp, Slack, Discord, Matrix, ntfy, Pushover and
the other services apprise speaks (those listed in `_apprise_services`).

The channel's URL is stored sealed (`_sealed`); a send opens it, lets apprise read it
(offline), and runs apprise's synchronous `notify` in a thread of the notifier's own
pool, bounded by `TICKHUB_NOTIFY_TIMEOUT_S`: apprise's connect and read timeouts are set
to it, and the event loop stops waiting after it. Every connection of that thread goes
through the address guard (`_apprise_guard`), certificates are always verified, and
`last_error` is a short category (`refused: ...`, `host not found`, `connection
refused`, `timeout`, `HTTP 503 Service Unavailable`, `not accepted by the service`),
never the URL or what the service answered.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

from tickhub.alerts.notifiers import _apprise_guard as guard
from tickhub.alerts.notifiers._apprise_services import ALLOWED, instantiate, service_of
from tickhub.alerts.notifiers._guard import AddressPolicy, Resolver, system_resolver
from tickhub.alerts.notifiers._http import retryable
from tickhub.alerts.notifiers._outcome import Outcome
from tickhub.alerts.notifiers._sealed import ChannelKeys, Unreadable

UNREADABLE = "the channel URL cannot be decrypted (the server key changed?): enter it again"


def _reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


class AppriseNotifier:
    """Sends through apprise, `concurrency` deliveries at a time, to addresses `policy`
    allows as `resolver` finds them."""

    def __init__(
        self,
        keys: ChannelKeys,
        *,
        timeout_s: float,
        concurrency: int = 8,
        policy: AddressPolicy | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._keys = keys
        self._timeout_s = timeout_s
        self._policy = policy or AddressPolicy()
        self._resolve = resolver
        self._pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="apprise")
        guard.install()

    def close(self) -> None:
        """Stop taking work; a send still running ends within its timeouts."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def send(self, *, sealed: str, title: str, body: str) -> Outcome:
        try:
            url = self._keys.open(sealed)
        except Unreadable:
            return Outcome.failed(UNREADABLE)
        loop = asyncio.get_running_loop()

        async def lookup(host: str, port: int) -> list[str]:
            return await self._resolve(host, port)

        def resolve(host: str, port: int) -> list[str]:
            future = asyncio.run_coroutine_threadsafe(lookup(host, port), loop)
            return future.result(timeout=self._timeout_s)

        attempt = guard.Attempt(self._policy, resolve)
        try:
            async with asyncio.timeout(self._timeout_s):
                sent = await loop.run_in_executor(
                    self._pool, self._notify, url, title, body, attempt
                )
        except TimeoutError:
            return Outcome.retry(f"timeout ({self._timeout_s:g} s)")
        except RuntimeError:  # the pool was shut down: the worker is stopping
            return Outcome.retry("the notifier is stopping")
        if isinstance(sent, Outcome):
            return sent
        return _outcome(sent, attempt)

    def _notify(self, url: str, title: str, body: str, attempt: guard.Attempt) -> bool | Outcome:
        """In a pool thread: apprise's own send, every connection guarded."""
        plugin = instantiate(url)
        if plugin is None or service_of(plugin) not in ALLOWED:
            return Outcome.failed("the channel URL is no longer one apprise can use here")
        plugin.verify_certificate = True
        plugin.socket_connect_timeout = self._timeout_s
        plugin.socket_read_timeout = self._timeout_s
        with guard.guarding(attempt):
            try:
                return bool(plugin.notify(body=body, title=title))
            except Exception as exc:  # a plugin's bug: its text may quote the URL
                return Outcome.retry(
                    f"internal error in the apprise service ({type(exc).__name__})"
                )


def _outcome(sent: bool, attempt: guard.Attempt) -> Outcome:
    if attempt.refused:
        return Outcome.failed("refused: the host resolves to an address that is not public")
    if attempt.unresolved:
        return Outcome.retry("host not found")
    if sent:
        return Outcome.sent(None)
    if attempt.connect_error is not None:
        return Outcome.retry(attempt.connect_error)
    if attempt.statuses:
        status = attempt.statuses[-1]
        if retryable(status):
            return Outcome.retry(_reason(status), status)
        return Outcome.failed(_reason(status), status)
    if attempt.connections == 0:
        return Outcome.failed("not sent: the service refused the URL's settings")
    return Outcome.retry("not accepted by the service")
