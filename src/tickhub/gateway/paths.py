"""Which requests fall in which rate-limit class, and which carry credentials: the one
list of gateway paths. Paths are compared without a trailing slash (every seed path works
with and without one)."""

from __future__ import annotations

from enum import StrEnum

from starlette.types import Scope

# The strict classes. Login: seed 003's sign-in, token refresh, and a new verification
# link (it checks a password). Registration: sign-up, and the reset mail (both send mail).
LOGIN_PATHS = frozenset({"/api/token", "/api/token/refresh", "/api/user/verify/generate-link"})
REGISTRATION_PATHS = frozenset({"/api/user/register", "/api/user/request-reset-email"})
# Strict paths whose body names an account (`email`): limited per account too.
ACCOUNT_PATHS = frozenset(
    {
        "/api/token",
        "/api/user/verify/generate-link",
        "/api/user/register",
        "/api/user/request-reset-email",
    }
)
# Seed 003's bulk uploads: their body limit is `TICKHUB_GATEWAY_MAX_BULK_BODY_BYTES`.
BULK_PATHS = frozenset({"/api/data/raw-data", "/api/data/market-forecasts"})
# Probes and scrapes are never limited, whatever the read limit says.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"cookie")


class RouteClass(StrEnum):
    LOGIN = "login"
    REGISTRATION = "registration"
    WRITES = "writes"
    READS = "reads"
    UNLIMITED = "unlimited"


def normalize(path: str) -> str:
    return path.rstrip("/") or "/"


def classify(method: str, path: str) -> RouteClass:
    path = normalize(path)
    if method == "POST" and path in LOGIN_PATHS:
        return RouteClass.LOGIN
    if method == "POST" and path in REGISTRATION_PATHS:
        return RouteClass.REGISTRATION
    if method in WRITE_METHODS:
        return RouteClass.WRITES
    if method == "OPTIONS" or path in UNLIMITED_PATHS:
        return RouteClass.UNLIMITED  # CORS preflights never count
    return RouteClass.READS


def is_auth_path(path: str) -> bool:
    path = normalize(path)
    return path in LOGIN_PATHS or path in REGISTRATION_PATHS


def is_bulk_path(path: str) -> bool:
    return normalize(path) in BULK_PATHS


def carries_credentials(scope: Scope) -> bool:
    return any(name in CREDENTIAL_HEADERS for name, _ in scope.get("headers", ()))
