"""Seed 003's users, wallet addresses (the callers' and the market's) and resources."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tickhub.accounts import service as accounts_service
from tickhub.accounts.deps import AccountsDep, AdminUser, CurrentUser
from tickhub.accounts.schemas import seed_user
from tickhub.compat._envelopes import seed_ok
from tickhub.compat.predico._bodies import body_doc, read
from tickhub.compat.predico._envelope import TAGS, SeedRoute
from tickhub.compat.predico._query import is_uuid as _is_uuid
from tickhub.compat.predico._query import query_error as _query_error
from tickhub.market import service
from tickhub.market.deps import MarketDep
from tickhub.market.schemas import (
    RESOURCE_NAME_MESSAGE,
    ResourceIn,
    ResourcePatchIn,
    WalletIn,
    check_resource_name,
    seed_market_wallet,
    seed_resource,
    seed_wallet,
)

router = APIRouter(tags=TAGS, route_class=SeedRoute)


# ---------------------------------------------------------------- users


@router.get("/api/user/list", summary="Every user (admins; 403 for others, as the seed)")
async def list_users(admin: AdminUser, accounts: AccountsDep) -> Response:
    return seed_ok([seed_user(u) for u in await accounts_service.users(accounts, admin)])


# ---------------------------------------------------------------- wallet addresses


@router.get("/api/user/wallet-address", summary="The caller's wallet address (admins: all)")
async def get_wallet(
    principal: CurrentUser,
    market: MarketDep,
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    if user is not None and principal.is_admin and not _is_uuid(user):
        raise _query_error("Query param 'user' must be a valid uuid.", "user")
    found = await service.wallets(market, principal, user_id=user)
    return seed_ok([seed_wallet(w) for w in found])


@router.post(
    "/api/user/wallet-address",
    summary="Register the caller's IOTA wallet address",
    openapi_extra=body_doc(WalletIn),
)
async def post_wallet(request: Request, principal: CurrentUser, market: MarketDep) -> Response:
    """400 when the address is not a valid IOTA address (Bech32: iota, atoi, smr, rms)
    or is another user's; 409 when the caller has one already (use PUT)."""
    body = await read(request, WalletIn)
    wallet = await service.add_wallet(market, principal, address=body.wallet_address)
    return seed_ok(seed_wallet(wallet, with_user=False))


@router.put(
    "/api/user/wallet-address",
    summary="Change the caller's wallet address",
    openapi_extra=body_doc(WalletIn),
)
async def put_wallet(request: Request, principal: CurrentUser, market: MarketDep) -> Response:
    body = await read(request, WalletIn)
    wallet = await service.replace_wallet(market, principal, address=body.wallet_address)
    return seed_ok(seed_wallet(wallet, with_user=False))


@router.get("/api/market/wallet-address", summary="The market's wallet address")
async def get_market_wallet(_principal: CurrentUser, market: MarketDep) -> Response:
    """Any signed-in user may read it: bids are paid to it. 409 when none is set."""
    return seed_ok(seed_market_wallet(await service.market_wallet(market)))


@router.post(
    "/api/market/wallet-address",
    summary="Register the market's wallet address (admins)",
    openapi_extra=body_doc(WalletIn),
)
async def post_market_wallet(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    body = await read(request, WalletIn)
    wallet = await service.set_market_wallet(market, address=body.wallet_address, create=True)
    return seed_ok(seed_market_wallet(wallet))


@router.put(
    "/api/market/wallet-address",
    summary="Change the market's wallet address (admins)",
    openapi_extra=body_doc(WalletIn),
)
async def put_market_wallet(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    body = await read(request, WalletIn)
    wallet = await service.set_market_wallet(market, address=body.wallet_address, create=False)
    return seed_ok(seed_market_wallet(wallet))


# ---------------------------------------------------------------- resources


@router.get("/api/user/resource", summary="The caller's resources (admins: all)")
async def list_resources(
    principal: CurrentUser,
    market: MarketDep,
    resource: str | None = Query(default=None, description="A resource id"),
    name: str | None = Query(default=None),
    resource_name: str | None = Query(default=None, description="Same as name"),
    to_forecast: str | None = Query(default=None, description="true or false"),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    name = name if name is not None else resource_name
    if resource is not None and not _is_uuid(resource):
        raise _query_error("Query param 'resource' must be a valid uuid.", "resource")
    if name is not None:
        try:
            check_resource_name(name)
        except ValueError as exc:
            raise _query_error(RESOURCE_NAME_MESSAGE, "name") from exc
    flag: bool | None = None
    if to_forecast is not None:
        if to_forecast.lower() not in {"true", "false"}:
            message = "Query param 'to_forecast' must be a boolean (true/false)"
            raise _query_error(message, "to_forecast")
        flag = to_forecast.lower() == "true"
    if user is not None and principal.is_admin and not _is_uuid(user):
        raise _query_error("Query param 'user' must be a valid uuid.", "user")
    found = await service.resources(
        market,
        principal,
        service.ResourceFilter(resource_id=resource, name=name, to_forecast=flag, user_id=user),
    )
    return seed_ok([seed_resource(r) for r in found])


@router.post(
    "/api/user/resource",
    status_code=201,
    summary="Register a resource",
    openapi_extra=body_doc(ResourceIn),
)
async def post_resource(request: Request, principal: CurrentUser, market: MarketDep) -> Response:
    """`name` ≤ 64 of `[a-z0-9_-]`; `type` forecasts or measurements; `to_forecast` only
    with measurements; (user, name, type) unique. 201 with the resource."""
    body = await read(request, ResourceIn)
    created = await service.add_resource(
        market, principal, name=body.name, type=body.type, to_forecast=body.to_forecast
    )
    return seed_ok(seed_resource(created), 201)


@router.get("/api/user/resource/{resource_id}", summary="One resource")
async def get_resource(resource_id: str, principal: CurrentUser, market: MarketDep) -> Response:
    """Another user's resource is not found (409, as the seed answers for its other
    methods on this path), unless the caller is an admin."""
    return seed_ok(seed_resource(await service.resource(market, principal, resource_id)))


@router.patch(
    "/api/user/resource/{resource_id}",
    summary="Change a resource",
    openapi_extra=body_doc(ResourcePatchIn),
)
async def patch_resource(
    resource_id: str, request: Request, principal: CurrentUser, market: MarketDep
) -> Response:
    body = await read(request, ResourcePatchIn)
    updated = await service.update_resource(
        market,
        principal,
        resource_id,
        name=body.name,
        type=body.type,
        to_forecast=body.to_forecast,
    )
    return seed_ok(seed_resource(updated))


@router.delete("/api/user/resource/{resource_id}", summary="Delete a resource")
async def delete_resource(resource_id: str, principal: CurrentUser, market: MarketDep) -> Response:
    deleted = await service.delete_resource(market, principal, resource_id)
    return seed_ok(f"Resource ID {deleted.id} deleted for user {principal.user.email}.")
