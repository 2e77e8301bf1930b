"""Security headers on every HTTP response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway.paths import SAFE_METHODS, carries_credentials, is_auth_path


class SecurityHeadersMiddleware:
    """Adds the headers below unless the route set its own (the docs pages send a CSP with
    a nonce). `Strict-Transport-Security` goes on https requests only, and
    `Cache-Control: no-store` on writes, on login/registration and on any request that
    carries credentials."""

    def __init__(self, app: ASGIApp, *, content_security_policy: str, hsts_max_age_s: int) -> None:
        self.app = app
        defaults = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if content_security_policy:
            defaults.append(("Content-Security-Policy", content_security_policy))
        hsts = (
            [("Strict-Transport-Security", f"max-age={hsts_max_age_s}")] if hsts_max_age_s else []
        )
        no_store = [("Cache-Control", "no-store")]
        # Encoded once, for each (https, no-store) case: a response appends the raw pairs
        # its route did not set itself.
        self._added: dict[tuple[bool, bool], list[tuple[bytes, bytes]]] = {
            (https, store): _raw(defaults + (hsts if https else []) + (no_store if store else []))
            for https in (False, True)
            for store in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = (
            scope["method"] not in SAFE_METHODS
            or is_auth_path(scope["path"])
            or carries_credentials(scope)
        )
        added = self._added[scope.get("scheme") == "https", no_store]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if headers:
                    present = {name for name, _ in headers}  # ASGI: lowercase names
                    headers += [h for h in added if h[0] not in present]
                else:
                    headers = list(added)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _raw(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
