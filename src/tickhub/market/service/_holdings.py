"""What a user holds in the data market (seed 003): a wallet address and resources; and
the market's own wallet address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tickhub.common.uow import ConstraintViolation
from tickhub.market.addresses import InvalidAddress, check_address
from tickhub.market.errors import Conflict, Invalid, NotFound
from tickhub.market.repository import MarketWalletRecord, ResourceRecord, WalletRecord
from tickhub.market.service._context import Caller, Market
from tickhub.market.uow import HoldingsStore

RESOURCE_TYPES = ("forecasts", "measurements")
# Seed 003's messages.
INVALID_ADDRESS = "Invalid wallet address."
USER_ADDRESS_TAKEN = "user wallet address with this wallet address already exists."
MARKET_ADDRESS_TAKEN = "market wallet address with this wallet address already exists."
RESOURCE_TAKEN = "The fields user, name, type must make a unique set."
FORECASTS_ONLY = "You can only request forecasts for resources with 'measurements' resource type."


def _address(address: str) -> str:
    try:
        return check_address(address)
    except InvalidAddress as exc:
        raise Invalid(
            f"{INVALID_ADDRESS} ({exc})", errors={"wallet_address": [INVALID_ADDRESS]}
        ) from exc


# ---------------------------------------------------------------- user wallets


async def wallets(
    a: Market, principal: Caller, *, user_id: str | None = None
) -> list[WalletRecord]:
    """The caller's wallet (a list of at most one); an admin sees everyone's, or
    `user_id`'s."""
    async with a.uow() as tx:
        return await tx.holdings.wallets(principal.scope(user_id))


async def add_wallet(a: Market, principal: Caller, *, address: str) -> WalletRecord:
    address = _address(address)
    try:
        async with a.uow() as tx:
            repo = tx.holdings
            if await repo.wallet_owner(address) is not None:
                raise Invalid(USER_ADDRESS_TAKEN, field="wallet_address")
            if await repo.wallets(principal.id):
                raise Conflict(
                    "This user already has an address. Use PUT method to update it.",
                    field="wallet_address",
                )
            await repo.add_wallet(principal.id, address, a.clock())
            (wallet,) = await repo.wallets(principal.id)
            await tx.commit()
    except ConstraintViolation as exc:  # a concurrent registration of the same address
        raise Invalid(USER_ADDRESS_TAKEN, field="wallet_address") from exc
    return wallet


async def replace_wallet(a: Market, principal: Caller, *, address: str) -> WalletRecord:
    address = _address(address)
    try:
        async with a.uow() as tx:
            repo = tx.holdings
            owner = await repo.wallet_owner(address)
            if owner is not None and owner != principal.id:
                raise Invalid(USER_ADDRESS_TAKEN, field="wallet_address")
            if not await repo.update_wallet(principal.id, address, a.clock()):
                raise NotFound(
                    "This user does not have a wallet address yet.", field="wallet_address"
                )
            (wallet,) = await repo.wallets(principal.id)
            await tx.commit()
    except ConstraintViolation as exc:
        raise Invalid(USER_ADDRESS_TAKEN, field="wallet_address") from exc
    return wallet


# ---------------------------------------------------------------- the market's wallet

NO_MARKET_ADDRESS = "Market wallet address not found. Register an address first."


async def market_wallet(a: Market) -> MarketWalletRecord:
    async with a.uow() as tx:
        wallet = await tx.holdings.market_wallet()
    if wallet is None:
        raise NotFound(NO_MARKET_ADDRESS, field="wallet_address")
    return wallet


async def set_market_wallet(a: Market, *, address: str, create: bool) -> MarketWalletRecord:
    """Admin only (the router checks). `create`: POST, refused when one exists (409);
    otherwise PUT, refused when none exists (409 in the seed)."""
    try:
        async with a.uow() as tx:
            repo = tx.holdings
            current = await repo.market_wallet()
            if create:
                if current is not None and current.wallet_address == address.strip().lower():
                    raise Invalid(MARKET_ADDRESS_TAKEN, field="wallet_address")
                if current is not None:
                    raise Conflict(
                        "A market address was already registered. Use PUT method to update it.",
                        field="wallet_address",
                    )
            checked = _address(address)
            if not create and current is None:
                raise NotFound(NO_MARKET_ADDRESS, field="wallet_address")
            await repo.set_market_wallet(checked, a.clock(), create=create)
            wallet = await repo.market_wallet()
            await tx.commit()
    except ConstraintViolation as exc:  # two admins at once
        raise Conflict(
            "A market address was already registered. Use PUT method to update it.",
            field="wallet_address",
        ) from exc
    assert wallet is not None
    return wallet


# ---------------------------------------------------------------- resources


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    resource_id: str | None = None
    name: str | None = None
    to_forecast: bool | None = None
    user_id: str | None = None  # admins only


async def resources(a: Market, principal: Caller, f: ResourceFilter) -> list[ResourceRecord]:
    """The caller's resources; an admin sees everyone's, or `user_id`'s."""
    async with a.uow() as tx:
        return await tx.holdings.resources(
            principal.scope(f.user_id),
            resource_id=f.resource_id,
            name=f.name,
            to_forecast=f.to_forecast,
        )


def _check_resource(type: str, to_forecast: bool) -> None:
    if to_forecast and type == "forecasts":
        raise Invalid(
            FORECASTS_ONLY,
            errors={"resource_type": [FORECASTS_ONLY], "to_forecast": [FORECASTS_ONLY]},
        )


async def add_resource(
    a: Market, principal: Caller, *, name: str, type: str, to_forecast: bool
) -> ResourceRecord:
    resource_id = str(uuid.uuid4())
    try:
        async with a.uow() as tx:
            repo = tx.holdings
            if await repo.resource_exists(principal.id, name, type):
                raise Invalid(RESOURCE_TAKEN, errors={"non_field_errors": [RESOURCE_TAKEN]})
            _check_resource(type, to_forecast)
            await repo.add_resource(
                id=resource_id,
                user_id=principal.id,
                name=name,
                type=type,
                to_forecast=to_forecast,
                registered_at=a.clock(),
            )
            (resource,) = await repo.resources(principal.id, resource_id=resource_id)
            await tx.commit()
    except ConstraintViolation as exc:
        raise Invalid(RESOURCE_TAKEN, errors={"non_field_errors": [RESOURCE_TAKEN]}) from exc
    return resource


async def _owned_resource(
    repo: HoldingsStore, principal: Caller, resource_id: str
) -> ResourceRecord:
    found = await repo.resources(principal.scope(), resource_id=resource_id)
    if not found:
        # Absent and someone else's look the same (seed 003: 409 "Resource ID not found.").
        raise NotFound("Resource ID not found.", field="resource_id")
    return found[0]


async def update_resource(
    a: Market,
    principal: Caller,
    resource_id: str,
    *,
    name: str | None = None,
    type: str | None = None,
    to_forecast: bool | None = None,
) -> ResourceRecord:
    """Change the fields given; the owner stays the owner (also when an admin edits)."""
    try:
        async with a.uow() as tx:
            repo = tx.holdings
            current = await _owned_resource(repo, principal, resource_id)
            name = current.name if name is None else name
            type = current.type if type is None else type
            to_forecast = current.to_forecast if to_forecast is None else to_forecast
            if await repo.resource_exists(current.user_id, name, type, other_than=current.id):
                raise Invalid(RESOURCE_TAKEN, errors={"non_field_errors": [RESOURCE_TAKEN]})
            _check_resource(type, to_forecast)
            await repo.update_resource(
                current.id, name=name, type=type, to_forecast=to_forecast, registered_at=a.clock()
            )
            (resource,) = await repo.resources(None, resource_id=current.id)
            await tx.commit()
    except ConstraintViolation as exc:
        raise Invalid(RESOURCE_TAKEN, errors={"non_field_errors": [RESOURCE_TAKEN]}) from exc
    return resource


async def delete_resource(a: Market, principal: Caller, resource_id: str) -> ResourceRecord:
    async with a.uow() as tx:
        repo = tx.holdings
        resource = await _owned_resource(repo, principal, resource_id)
        await repo.delete_resource(resource.id)
        await tx.commit()
    return resource


async def resource(a: Market, principal: Caller, resource_id: str) -> ResourceRecord:
    async with a.uow() as tx:
        return await _owned_resource(tx.holdings, principal, resource_id)
