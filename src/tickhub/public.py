"""The routes anyone may call, in one place. Every other route needs credentials.

`require_authentication` is a dependency of the whole app (added before any router is
included, so it reaches every route, including routes added later): a route is private
unless its method and path are listed here. Patterns are route templates: `{name}`
matches one path segment.
"""

from __future__ import annotations

import re

from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection

from tickhub.accounts.deps import authenticate, get_principal
from tickhub.accounts.errors import AccountsError

PUBLIC_ROUTES: tuple[tuple[str, str], ...] = (
    # probes, metrics and documentation
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    # the dashboard page and its files (tickhub.web)
    ("GET", "/"),
    ("GET", "/static/{name}"),
    # market-data reads: seed 001, seed 004, /v1 and the live stream
    ("GET", "/symbols"),
    ("GET", "/exchanges"),
    ("GET", "/tickers/{coin}/{exchange}"),
    ("GET", "/price-history-minutes/{window}/{ticker}"),
    ("GET", "/api/current_price"),
    ("GET", "/api/crypto_price"),
    ("GET", "/api/crypto_price/statistics"),
    ("GET", "/v1/exchanges"),
    ("GET", "/v1/compare"),
    ("GET", "/v1/instruments"),
    ("GET", "/v1/prices"),
    ("GET", "/v1/prices/{exchange}/{symbol}"),
    ("GET", "/v1/snapshot"),
    ("GET", "/v1/trades"),
    ("GET", "/v1/candles"),
    ("GET", "/v1/statistics"),
    ("GET", "/v1/coverage"),
    ("GET", "/v1/sources"),
    ("GET", "/v1/listings"),
    ("GET", "/v1/listings/{coin}"),
    ("GET", "/v1/global-metrics"),
    ("GET", "/v1/global-metrics/history"),
    ("GET", "/v1/stream"),
    ("WEBSOCKET", "/v1/stream"),
    # the alert stream checks credentials itself: it also takes `?token=`, since browsers
    # cannot set headers on a WebSocket, and closes with 4401 without them
    ("WEBSOCKET", "/v1/alerts/stream"),
    # accounts: sign-up, e-mail verification, tokens, password reset (seed 003)
    ("POST", "/api/user/register"),
    ("GET", "/api/user/verify/{uid}/{token}"),
    ("POST", "/api/user/verify/generate-link"),
    ("POST", "/api/token"),
    ("POST", "/api/token/refresh"),
    ("POST", "/api/user/request-reset-email"),
    ("GET", "/api/user/password-reset-confirm/{uidb64}/{token}"),
    ("PATCH", "/api/user/password-reset-complete"),
    # seed 003's welcome route
    ("GET", "/api/test"),
)

# Path segments that carry secrets (link tokens): access logs must not print them.
SECRET_PATHS = (
    re.compile(r"^(/api/user/verify/[^/]+/)[^/]+"),
    re.compile(r"^(/api/user/password-reset-confirm/[^/]+/)[^/]+"),
)


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    body = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}/?$")


_PUBLIC = tuple((method, _compile(path)) for method, path in PUBLIC_ROUTES)


def is_public(method: str, path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    return any(m == method and p.match(path) for m, p in _PUBLIC)


def redact_path(path: str) -> str:
    """`path` with link tokens replaced by `***`, for logs."""
    for pattern in SECRET_PATHS:
        path = pattern.sub(r"\1***", path)
    return path


async def require_authentication(conn: HTTPConnection) -> None:
    """Let public routes through; everything else needs a valid access token or API key
    (401 otherwise; a WebSocket is closed with 1008)."""
    websocket = conn.scope["type"] == "websocket"
    method = "WEBSOCKET" if websocket else conn.scope["method"]
    if is_public(method, conn.scope["path"]):
        return
    if websocket:
        try:
            principal = await authenticate(conn)
        except AccountsError as exc:
            raise WebSocketException(code=1008, reason="invalid credentials") from exc
        if principal is None:
            raise WebSocketException(code=1008, reason="authentication required")
        return
    await get_principal(conn)
