"""FastAPI dependencies: the accounts service, and who is calling.

Credentials are `Authorization: Bearer <access token>` or `X-API-Key: th_…`. Missing or
invalid credentials are a 401 with `WWW-Authenticate: Bearer`; a non-admin on an admin
route is a 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from tickhub.accounts import service
from tickhub.accounts.errors import Forbidden, InvalidCredentials, NotAuthenticated, Unavailable
from tickhub.accounts.service import Accounts, Principal

NOT_PROVIDED = "Authentication credentials were not provided."
NOT_ALLOWED = "You do not have permission to perform this action."
_UNSET = object()


def get_accounts(conn: HTTPConnection) -> Accounts:
    """Built on first use from the app's settings and engine (reading or creating the
    signing key), then kept in `app.state.accounts`; tests may put their own there."""
    state = conn.app.state
    accounts: Accounts | None = getattr(state, "accounts", None)
    if accounts is None:
        engine = getattr(state, "engine", None)
        if engine is None:
            raise Unavailable("accounts are unavailable: the app has no database")
        accounts = service.build_accounts(state.settings, engine)
        state.accounts = accounts
    return accounts


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


async def authenticate(conn: HTTPConnection) -> Principal | None:
    """The caller, None when no credentials were sent, `InvalidCredentials` when they
    were but do not hold. Resolved once per request."""
    cached = getattr(conn.state, "principal", _UNSET)
    if cached is not _UNSET:
        assert cached is None or isinstance(cached, Principal)
        return cached
    principal: Principal | None = None
    authorization = conn.headers.get("authorization", "")
    api_key = conn.headers.get("x-api-key", "").strip()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        token = token.strip()
        if not token:
            raise InvalidCredentials("Authorization header must contain two space-delimited values")
        principal = await service.authenticate_token(get_accounts(conn), token)
    elif api_key:
        principal = await service.authenticate_api_key(get_accounts(conn), api_key)
    conn.state.principal = principal
    return principal


async def get_principal(conn: HTTPConnection) -> Principal:
    principal = await authenticate(conn)
    if principal is None:
        raise NotAuthenticated(NOT_PROVIDED)
    return principal


# Documentation only (the OpenAPI security schemes and the docs' Authorize button): the
# headers are read by `authenticate`.
_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/token")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from POST /v1/api-keys"
)


async def current_user(
    conn: HTTPConnection,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    return await get_principal(conn)


CurrentUser = Annotated[Principal, Depends(current_user)]


async def get_admin(principal: CurrentUser) -> Principal:
    if not principal.is_admin:
        raise Forbidden(NOT_ALLOWED)
    return principal


AdminUser = Annotated[Principal, Depends(get_admin)]
