"""tickhub's own account resources under `/v1` (plain JSON, errors as
`application/problem+json`): the profile, password change, settings and API keys.

Seed 003's account paths are in `tickhub.compat.predico`, with the seed's envelope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Query
from fastapi.responses import Response

from tickhub.accounts import service
from tickhub.accounts.deps import AccountsDep, CurrentUser
from tickhub.accounts.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    PasswordChangeIn,
    ProfileIn,
    ProfileOut,
)
from tickhub.marketdata.schemas import Problem
from tickhub.problems import PROBLEM_JSON

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
    for status, text in (
        (400, "Bad input, naming the field"),
        (401, "No credentials, or credentials that do not hold"),
        (403, "Not allowed"),
        (404, "Not found (or not yours)"),
        (409, "Conflict"),
        (422, "A field is missing or of the wrong type"),
    )
}
router = APIRouter(tags=["accounts"], responses=PROBLEMS)

Settings = Annotated[dict[str, Any], Body(description="A JSON object")]


def install(app: FastAPI) -> None:
    """Mount the account routes (their errors answer as problem documents, the app's
    handler of domain errors)."""
    app.include_router(router, prefix="/v1")


# ---------------------------------------------------------------- profile


@router.get("/me", summary="The caller's profile")
async def get_me(principal: CurrentUser, accounts: AccountsDep) -> ProfileOut:
    return ProfileOut.of(await service.profile(accounts, principal))


@router.patch("/me", summary="Change the caller's name")
async def patch_me(body: ProfileIn, principal: CurrentUser, accounts: AccountsDep) -> ProfileOut:
    user = await service.update_profile(
        accounts, principal, first_name=body.first_name, last_name=body.last_name
    )
    return ProfileOut.of(user)


@router.post("/me/password", status_code=204, summary="Change the caller's password")
async def change_password(
    body: PasswordChangeIn, principal: CurrentUser, accounts: AccountsDep
) -> Response:
    """Needs the current password. Every session is signed out: sign in again."""
    await service.change_password(
        accounts,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Response(status_code=204)


# ---------------------------------------------------------------- settings


@router.get("/me/settings", summary="The caller's settings document")
async def get_settings(principal: CurrentUser, accounts: AccountsDep) -> dict[str, Any]:
    """A free-form JSON object (seed 002's userManager settings); `{}` until set."""
    return await service.user_settings(accounts, principal)


@router.put("/me/settings", summary="Replace the caller's settings")
async def put_settings(
    body: Settings, principal: CurrentUser, accounts: AccountsDep
) -> dict[str, Any]:
    return await service.replace_settings(accounts, principal, body)


@router.patch("/me/settings", summary="Merge into the caller's settings (JSON Merge Patch)")
async def patch_settings(
    body: Settings, principal: CurrentUser, accounts: AccountsDep
) -> dict[str, Any]:
    """RFC 7396: objects merge member by member; `null` removes a member."""
    return await service.patch_settings(accounts, principal, body)


# ---------------------------------------------------------------- API keys


@router.post("/api-keys", status_code=201, summary="Create an API key for a bot")
async def create_api_key(
    body: ApiKeyIn, principal: CurrentUser, accounts: AccountsDep
) -> ApiKeyCreatedOut:
    """The key is in this answer only; tickhub keeps its SHA-256. Send it as
    `X-API-Key`. An API key cannot create keys."""
    record, key = await service.create_api_key(accounts, principal, name=body.name)
    return ApiKeyCreatedOut.created(record, key)


@router.get("/api-keys", summary="The caller's API keys")
async def list_api_keys(
    principal: CurrentUser,
    accounts: AccountsDep,
    user_id: Annotated[
        str | None, Query(max_length=64, description="Admins: another user's keys")
    ] = None,
) -> list[ApiKeyOut]:
    found = await service.api_keys(accounts, principal, user_id=user_id)
    return [ApiKeyOut.of(k) for k in found]


@router.get("/api-keys/{key_id}", summary="One API key")
async def get_api_key(key_id: str, principal: CurrentUser, accounts: AccountsDep) -> ApiKeyOut:
    """404 for another user's key, unless the caller is an admin."""
    return ApiKeyOut.of(await service.api_key(accounts, principal, key_id))


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: str, principal: CurrentUser, accounts: AccountsDep) -> Response:
    """Revoked at once and for good (repeating it is harmless). 404 for another user's
    key, unless the caller is an admin."""
    await service.revoke_api_key(accounts, principal, key_id)
    return Response(status_code=204)
