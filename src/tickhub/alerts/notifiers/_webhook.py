"""Webhooks: the alert's JSON POSTed to the channel's URL, signed with its secret.

The signature is HMAC-SHA256, keyed with the channel's secret, over
`f"{timestamp}."` followed by the exact body bytes, sent as
`X-Tickhub-Signature: sha256=<hex>` beside `X-Tickhub-Timestamp` (Unix seconds of the
attempt). `X-Tickhub-Delivery` is the same on every attempt of one delivery, so a
receiver can drop retries it has already processed.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from http import HTTPStatus

import httpx

from tickhub.alerts.notifiers._http import read_bounded, retry_after_s, retryable
from tickhub.alerts.notifiers._outcome import Outcome, exception_text

SIGNATURE_HEADER = "X-Tickhub-Signature"
TIMESTAMP_HEADER = "X-Tickhub-Timestamp"
DELIVERY_HEADER = "X-Tickhub-Delivery"
EVENT_HEADER = "X-Tickhub-Event"
USER_AGENT = "tickhub-notifier"
SNIPPET_BYTES = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Tickhub-Signature` value: `sha256=` and the hex HMAC of `"{timestamp}." + body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def _reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


class WebhookNotifier:
    """POSTs signed alert bodies with one shared `httpx.AsyncClient` (redirects are not
    followed: a webhook URL is the final one)."""

    def __init__(self, client: httpx.AsyncClient, *, timeout_s: float) -> None:
        self._client = client
        self._timeout = httpx.Timeout(timeout_s)

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
            request = self._client.build_request(
                "POST", url, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            return Outcome.failed(f"invalid webhook URL ({type(exc).__name__})")
        try:
            response = await self._client.send(request, stream=True, follow_redirects=False)
            try:
                snippet = await read_bounded(response, SNIPPET_BYTES)
            finally:
                await response.aclose()
        except httpx.UnsupportedProtocol as exc:
            return Outcome.failed(f"invalid webhook URL ({type(exc).__name__})")
        except httpx.TimeoutException as exc:
            return Outcome.retry(f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Outcome.retry(exception_text(exc))
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.sent(status)
        text = snippet.decode("utf-8", "replace").strip()
        error = f"{_reason(status)}: {text}" if text else _reason(status)
        if retryable(status):
            wait = retry_after_s(response.headers.get("Retry-After"), now)
            return Outcome.retry(error, status, wait)
        if 300 <= status < 400:
            error += " (redirects are not followed: set the final URL)"
        return Outcome.failed(error, status)
