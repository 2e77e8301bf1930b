"""Telegram: `sendMessage` of the Bot API with the alert as plain text.

The bot token is part of the request path (`/bot<token>/sendMessage`); it is never
logged or stored: error texts are built from the Bot API's answer, and the token is
blanked from them in any case.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from tickhub.alerts.notifiers._http import read_bounded, retry_after_s, retryable
from tickhub.alerts.notifiers._outcome import Outcome, exception_text

_NUMERIC = re.compile(r"-?\d+")
NOT_CONFIGURED = "no Telegram bot token configured (set TICKHUB_TELEGRAM_BOT_TOKEN)"


def _chat(chat_id: str) -> int | str:
    """Numeric chat ids as numbers, `@channelusername` as given."""
    return int(chat_id) if _NUMERIC.fullmatch(chat_id) else chat_id


class TelegramNotifier:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_url: str,
        token: SecretStr,
        timeout_s: float,
    ) -> None:
        self._client = client
        self._api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = httpx.Timeout(timeout_s)

    async def send(self, *, chat_id: str, text: str, now: datetime) -> Outcome:
        token = self._token.get_secret_value()
        if not token:
            return Outcome.failed(NOT_CONFIGURED)
        outcome = await self._call(token, chat_id, text, now)
        if outcome.error and token in outcome.error:
            outcome = Outcome(
                outcome.kind,
                outcome.status,
                outcome.error.replace(token, "***"),
                outcome.retry_after_s,
            )
        return outcome

    async def _call(self, token: str, chat_id: str, text: str, now: datetime) -> Outcome:
        payload = {"chat_id": _chat(chat_id), "text": text, "disable_web_page_preview": True}
        try:
            request = self._client.build_request(
                "POST",
                f"{self._api_url}/bot{token}/sendMessage",
                content=orjson.dumps(payload),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
            response = await self._client.send(request, stream=True)
            try:
                raw = await read_bounded(response)
            finally:
                await response.aclose()
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Outcome.failed(f"invalid TICKHUB_TELEGRAM_API_URL ({type(exc).__name__})")
        except httpx.TimeoutException as exc:
            return Outcome.retry(f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Outcome.retry(exception_text(exc))
        return _outcome(response, raw, now)


def _outcome(response: httpx.Response, raw: bytes, now: datetime) -> Outcome:
    status = response.status_code
    try:
        answer: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        error = f"HTTP {status} without a Bot API answer"
        if retryable(status):
            return Outcome.retry(
                error, status, retry_after_s(response.headers.get("Retry-After"), now)
            )
        return Outcome.failed(error, status)
    if answer.get("ok") is True and 200 <= status < 300:
        return Outcome.sent(status)
    code = answer.get("error_code")
    code = code if isinstance(code, int) else status
    description = str(answer.get("description") or f"HTTP {status}")
    error = f"Telegram {code}: {description}"
    parameters = answer.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    wait = parameters.get("retry_after")
    if isinstance(wait, int | float) and not isinstance(wait, bool):
        return Outcome.retry(error, status, max(0.0, float(wait)))
    if retryable(code) or retryable(status):
        return Outcome.retry(error, status, retry_after_s(response.headers.get("Retry-After"), now))
    migrated = parameters.get("migrate_to_chat_id")
    if isinstance(migrated, int):
        error += f" (the group is now chat {migrated}: update the strategy's channel)"
    elif code in (401, 404):
        error += " (check TICKHUB_TELEGRAM_BOT_TOKEN)"
    return Outcome.failed(error, status)


_BOT_PATH = re.compile(r"/bot[^/\s\"']+/")


class _HideBotTokens(logging.Filter):
    """httpx logs every request's URL at INFO; a Bot API URL holds the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's to report
            return True
        if "/bot" in message:
            record.msg, record.args = _BOT_PATH.sub("/bot***/", message), None
        return True


def hide_bot_tokens() -> None:
    """Blank Bot API tokens in what the `httpx` logger writes; idempotent."""
    http_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _HideBotTokens) for f in http_logger.filters):
        http_logger.addFilter(_HideBotTokens())
