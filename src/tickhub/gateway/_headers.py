"""Security headers on every HTTP response."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway.paths import SAFE_METHODS, carries_credentials, is_auth_path


class SecurityHeadersMiddleware:
    """Adds the headers below unless the route set its own (the docs pages send a CSP with
    a nonce). `Strict-Transport-Security` goes on https requests only, and
    `Cache-Control: no-store` on writes, on login/registration and on any request that
    carries credentials."""

    def __init__(self, app: ASGIApp, *, content_security_policy: str, hsts_max_age_s: int) -> None:
        self.app = app
        self.defaults: list[tuple[str, str]] = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if content_security_policy:
            self.defaults.append(("Content-Security-Policy", content_security_policy))
        self.hsts = f"max-age={hsts_max_age_s}" if hsts_max_age_s else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = self.hsts if scope.get("scheme") == "https" else None
        no_store = (
            scope["method"] not in SAFE_METHODS
            or is_auth_path(scope["path"])
            or carries_credentials(scope)
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.defaults:
                    headers.setdefault(name, value)
                if hsts is not None:
                    headers.setdefault("Strict-Transport-Security", hsts)
                if no_store:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
