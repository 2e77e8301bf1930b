"""Webhooks: the alert's JSON POSTed to the channel's URL, signed with its secret.

The signature is HMAC-SHA256, keyed with the channel's secret, over
`f"{timestamp}."` followed by the exact body bytes, sent as
`X-Tickhub-Signature: sha256=<hex>` beside `X-Tickhub-Timestamp` (Unix seconds of the
attempt). `X-Tickhub-Delivery` is the same on every attempt of one delivery, so a
receiver can drop retries it has already processed.

Each attempt resolves the host once, checks every address against the `AddressPolicy`
and connects to the first one (see `_guard`): the `Host` header and the TLS server
name stay the URL's. `last_error` holds a short category (`timeout`, `connection
refused`, `HTTP 503 Service Unavailable`), never what the receiver answered.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from http import HTTPStatus

import httpx

from tickhub.alerts.notifiers._guard import AddressPolicy, Resolver, system_resolver
from tickhub.alerts.notifiers._http import retry_after_s, retryable
from tickhub.alerts.notifiers._outcome import Outcome

SIGNATURE_HEADER = "X-Tickhub-Signature"
TIMESTAMP_HEADER = "X-Tickhub-Timestamp"
DELIVERY_HEADER = "X-Tickhub-Delivery"
EVENT_HEADER = "X-Tickhub-Event"
USER_AGENT = "tickhub-notifier"
DEFAULT_PORTS = {"http": 80, "https": 443}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Tickhub-Signature` value: `sha256=` and the hex HMAC of `"{timestamp}." + body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def network_category(exc: httpx.HTTPError) -> str:
    """A short word for a failed exchange, naming no address and quoting nothing."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                return "connection refused"
            cause = cause.__cause__ or cause.__context__
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol error"
    return f"network error ({type(exc).__name__})"


def _reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


class WebhookNotifier:
    """POSTs signed alert bodies with one shared `httpx.AsyncClient` (redirects are not
    followed: a webhook URL is the final one) to addresses the `policy` allows, as
    `resolver` finds them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout_s: float,
        policy: AddressPolicy | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._client = client
        self._timeout = httpx.Timeout(timeout_s)
        self._policy = policy or AddressPolicy()
        self._resolve = resolver

    async def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, str] | Outcome:
        """The URL with its host replaced by the checked address, and the `Host` header
        value; or the outcome that ends the attempt."""
        if url.scheme not in DEFAULT_PORTS or not url.host:
            return Outcome.failed("invalid webhook URL")
        if url.userinfo:
            return Outcome.failed("refused: credentials in the URL")
        problem = self._policy.url_problem(str(url))
        if problem is not None:
            return Outcome.failed("refused: the URL points at an address that is not public")
        port = url.port or DEFAULT_PORTS[url.scheme]
        try:
            addresses = await self._resolve(url.host, port)
        except (OSError, UnicodeError):
            return Outcome.retry("host not found")
        if not addresses:
            return Outcome.retry("host not found")
        if any(self._policy.refusal(url.host, a) is not None for a in addresses):
            return Outcome.failed("refused: the host resolves to an address that is not public")
        host_header = url.netloc.decode("ascii")
        return url.copy_with(host=addresses[0].split("%", 1)[0]), host_header

    async def send(
        self,
        *,
        url: str,
        secret: str,
        body: bytes,
        delivery_id: int,
        now: datetime,
    ) -> Outcome:
        if not secret:
            return Outcome.failed("the webhook channel has no secret to sign with")
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: "alert",
            DELIVERY_HEADER: str(delivery_id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            return Outcome.failed("invalid webhook URL")
        pinned = await self._pinned(parsed)
        if isinstance(pinned, Outcome):
            return pinned
        target, headers["Host"] = pinned
        extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
        try:
            request = self._client.build_request(
                "POST",
                target,
                content=body,
                headers=headers,
                timeout=self._timeout,
                extensions=extensions,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
            return Outcome.failed("invalid webhook URL")
        try:
            response = await self._client.send(request, stream=True, follow_redirects=False)
            await response.aclose()  # the answer's body is not read, nor kept
        except httpx.UnsupportedProtocol:
            return Outcome.failed("invalid webhook URL")
        except httpx.HTTPError as exc:
            return Outcome.retry(network_category(exc))
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.sent(status)
        error = _reason(status)
        if retryable(status):
            wait = retry_after_s(response.headers.get("Retry-After"), now)
            return Outcome.retry(error, status, wait)
        if 300 <= status < 400:
            error += " (redirects are not followed: set the final URL)"
        return Outcome.failed(error, status)
