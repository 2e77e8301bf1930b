"""Seed 003 (Predico, Django REST framework) account paths, with the seed's shapes, so
that its clients work unchanged.

Most answers are the seed's envelope: `{"code", "data"}`, or on error
`{"code", "data", "status": "error", "message"}` (a 400 carries the field errors in
`data`). The token and password-reset views of the seed have no envelope (plain DRF
bodies), and neither do they here. Bodies may be JSON or form-encoded; unknown fields
are ignored, as DRF does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from tickhub.accounts import service
from tickhub.accounts.deps import AccountsDep, AdminUser, CurrentUser
from tickhub.accounts.errors import AccountsError, Invalid
from tickhub.accounts.schemas import (
    RESOURCE_NAME_MESSAGE,
    CredentialsIn,
    GenerateLinkIn,
    RefreshIn,
    RegisterIn,
    ResetCompleteIn,
    ResetRequestIn,
    ResourceIn,
    ResourcePatchIn,
    WalletIn,
    check_resource_name,
    seed_market_wallet,
    seed_resource,
    seed_user,
    seed_wallet,
)
from tickhub.common.errors import DomainError, NotFound, Unauthorized
from tickhub.compat._envelopes import SeedEnvelope, seed_error, seed_error_body, seed_ok
from tickhub.problems import challenge, status_of

M = TypeVar("M", bound=BaseModel)

RESET_REQUESTED = "If your email exists on the system an email has been sent to you"
WWW_AUTHENTICATE = challenge(401)


# ---------------------------------------------------------------- envelope


def _seed_data(exc: DomainError) -> object:
    """What the seed puts in `data` for a 400: the field errors (or the seed's own)."""
    if isinstance(exc, AccountsError):
        return exc.seed_data
    return {exc.field: [exc.message]} if exc.field else {}


def _render(exc: DomainError) -> Response:
    """The seed answers 409 for everything it cannot find, and a 400 with its fixed
    validation message and the field errors in `data`."""
    status = 409 if isinstance(exc, NotFound) else status_of(exc).code
    if status == 400:
        return seed_error(400, data=_seed_data(exc))
    return seed_error(status, message=exc.message, headers=challenge(status))


ENVELOPE = SeedEnvelope(roots=("/api",), body=seed_error_body, render=_render)
router = APIRouter(tags=["accounts (seed 003)"], route_class=ENVELOPE.route_class())


# ---------------------------------------------------------------- request bodies


class UnsupportedMediaType(HTTPException):
    """A body neither JSON nor form-encoded: 415, as DRF answers (a matter of HTTP, not of
    the accounts)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(415, f'Unsupported media type "{content_type}" in request.')


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    }


async def _read(request: Request, model: type[M]) -> M:
    """Parse and validate a body as DRF would, with its error messages."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: object
    if content_type == "application/x-www-form-urlencoded":
        data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    elif content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(content_type)
    elif not raw.strip():
        data = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            detail = f"JSON parse error - {exc}"
            raise Invalid(detail, field="body", seed_data={"detail": detail}) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = drf_errors(exc)
        first = next(iter(errors))
        raise Invalid(f"{first}: {errors[first][0]}", errors=errors) from exc


def drf_errors(exc: ValidationError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else "non_field_errors"
        out.setdefault(field, []).append(_drf_message(error))
    return out


def _drf_message(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "This field is required."
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
    if value is None:
        return "This field may not be null."
    if kind in {"string_too_short", "too_short"}:
        if ctx.get("min_length") == 1:
            return "This field may not be blank."
        return f"Ensure this field has at least {ctx.get('min_length')} characters."
    if kind in {"string_too_long", "too_long"}:
        return f"Ensure this field has no more than {ctx.get('max_length')} characters."
    if kind == "string_type":
        return "Not a valid string."
    if kind in {"bool_parsing", "bool_type"}:
        return "Must be a valid boolean."
    if kind == "literal_error":
        return f'"{value}" is not a valid choice.'
    return str(error["msg"])


def _plain_error(exc: AccountsError | UnsupportedMediaType) -> JSONResponse:
    """The seed's token and reset views answer without the envelope."""
    if isinstance(exc, UnsupportedMediaType):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    if isinstance(exc, Unauthorized):
        body = {"detail": exc.message, "code": "token_not_valid"}
        return JSONResponse(body, status_code=401, headers=WWW_AUTHENTICATE)
    return JSONResponse(exc.seed_data, status_code=status_of(exc).code)


# ---------------------------------------------------------------- sign-up and verification


@router.post(
    "/api/user/register",
    status_code=201,
    summary="Register (public)",
    openapi_extra=_body_doc(RegisterIn),
)
async def register(request: Request, accounts: AccountsDep) -> Response:
    """201 with `{email, verification_link}` when verification is required and no SMTP is
    configured (with SMTP the link is mailed and `verification_link` is null), or
    `{message}` when verification is off. 409 when the e-mail is taken; 400 naming the
    fields at fault (`password` for a weak one)."""
    body = await _read(request, RegisterIn)
    done = await service.register(
        accounts,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
    )
    if not accounts.settings.require_verification:
        return seed_ok({"message": "User registered successfully."}, 201)
    return seed_ok(_link_data(done), 201)


def _link_data(done: service.Registration) -> dict[str, Any]:
    data: dict[str, Any] = {"email": done.user.email, "verification_link": done.verification_link}
    if done.mailed:
        data["message"] = "The verification link was sent to this address."
    elif done.verification_link is None:
        data["message"] = (
            "The verification e-mail could not be sent; ask for a new link at "
            "POST /api/user/verify/generate-link."
        )
    return data


@router.get(
    "/api/user/verify/{uid}/{token}",
    summary="Verify an e-mail address (the link sent on registration; public)",
    response_class=HTMLResponse,
)
async def verify(uid: str, token: str, accounts: AccountsDep) -> Response:
    """An HTML page on success (as the seed); 400 in the envelope when the link is
    expired, forged or already used."""
    await service.verify_email(accounts, uid=uid, token=token)
    return HTMLResponse(VERIFIED_PAGE)


@router.post(
    "/api/user/verify/generate-link",
    summary="A new verification link (public; needs the password)",
    openapi_extra=_body_doc(GenerateLinkIn),
)
async def generate_link(request: Request, accounts: AccountsDep) -> Response:
    body = await _read(request, GenerateLinkIn)
    done = await service.resend_verification(accounts, email=body.email, password=body.password)
    return seed_ok(_link_data(done))


# ---------------------------------------------------------------- tokens (no envelope)


@router.post(
    "/api/token",
    summary="Sign in: a pair of tokens (public)",
    openapi_extra=_body_doc(CredentialsIn),
)
async def token(request: Request, accounts: AccountsDep) -> Response:
    """200 `{access, refresh}` (plain, as simplejwt answers). 400
    `{"non_field_errors": ["Invalid login credentials"]}`, or `["Email not verified"]`
    when verification is required."""
    try:
        body = await _read(request, CredentialsIn)
        pair = await service.login(accounts, email=body.email, password=body.password)
    except (AccountsError, UnsupportedMediaType) as exc:
        return _plain_error(exc)
    return JSONResponse({"refresh": pair.refresh, "access": pair.access})


@router.post(
    "/api/token/refresh",
    summary="Rotate a refresh token (public)",
    openapi_extra=_body_doc(RefreshIn),
)
async def token_refresh(request: Request, accounts: AccountsDep) -> Response:
    """200 `{access, refresh}`: the refresh token sent is used up. Sending it again is
    401 `Token is blacklisted` and revokes every token of its sign-in."""
    try:
        body = await _read(request, RefreshIn)
        pair = await service.refresh(accounts, token=body.refresh)
    except (AccountsError, UnsupportedMediaType) as exc:
        return _plain_error(exc)
    return JSONResponse({"access": pair.access, "refresh": pair.refresh})


# ---------------------------------------------------------------- password reset (no envelope)


@router.post(
    "/api/user/request-reset-email",
    summary="Mail a password-reset link (public)",
    openapi_extra=_body_doc(ResetRequestIn),
)
async def request_reset(request: Request, accounts: AccountsDep) -> Response:
    """The same answer whether or not the account exists. The link is mailed (never
    returned); without SMTP nothing is sent."""
    try:
        body = await _read(request, ResetRequestIn)
    except (AccountsError, UnsupportedMediaType) as exc:
        return _plain_error(exc)
    await service.request_password_reset(accounts, email=body.email)
    return JSONResponse({"success": RESET_REQUESTED})


@router.get(
    "/api/user/password-reset-confirm/{uidb64}/{token}",
    summary="Check a password-reset link (public)",
)
async def reset_confirm(uidb64: str, token: str, accounts: AccountsDep) -> Response:
    try:
        await service.check_reset_link(accounts, uidb64=uidb64, token=token)
    except AccountsError as exc:
        return _plain_error(exc)
    return JSONResponse(
        {"success": True, "message": "Credentials Valid", "uidb64": uidb64, "token": token}
    )


@router.patch(
    "/api/user/password-reset-complete",
    summary="Set a new password with a reset link's uidb64 and token (public)",
    openapi_extra=_body_doc(ResetCompleteIn),
)
async def reset_complete(request: Request, accounts: AccountsDep) -> Response:
    """A link works once and expires (`TICKHUB_AUTH_RESET_TTL_S`). Every session of the
    account is signed out."""
    try:
        body = await _read(request, ResetCompleteIn)
        await service.complete_reset(
            accounts, uidb64=body.uidb64, token=body.token, password=body.password
        )
    except (AccountsError, UnsupportedMediaType) as exc:
        return _plain_error(exc)
    return JSONResponse({"success": True, "message": "Password reset success"})


# ---------------------------------------------------------------- users


@router.get("/api/user/list", summary="Users (admins: all; others: themselves)")
async def list_users(principal: CurrentUser, accounts: AccountsDep) -> Response:
    return seed_ok([seed_user(u) for u in await service.users(accounts, principal)])


# ---------------------------------------------------------------- wallet addresses


@router.get("/api/user/wallet-address", summary="The caller's wallet address (admins: all)")
async def get_wallet(
    principal: CurrentUser,
    accounts: AccountsDep,
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    if user is not None and principal.is_admin and not _is_uuid(user):
        raise _query_error("Query param 'user' must be a valid uuid.", "user")
    found = await service.wallets(accounts, principal, user_id=user)
    return seed_ok([seed_wallet(w) for w in found])


@router.post(
    "/api/user/wallet-address",
    summary="Register the caller's IOTA wallet address",
    openapi_extra=_body_doc(WalletIn),
)
async def post_wallet(request: Request, principal: CurrentUser, accounts: AccountsDep) -> Response:
    """400 when the address is not a valid IOTA address (Bech32: iota, atoi, smr, rms)
    or is another user's; 409 when the caller has one already (use PUT)."""
    body = await _read(request, WalletIn)
    wallet = await service.add_wallet(accounts, principal, address=body.wallet_address)
    return seed_ok(seed_wallet(wallet, with_user=False))


@router.put(
    "/api/user/wallet-address",
    summary="Change the caller's wallet address",
    openapi_extra=_body_doc(WalletIn),
)
async def put_wallet(request: Request, principal: CurrentUser, accounts: AccountsDep) -> Response:
    body = await _read(request, WalletIn)
    wallet = await service.replace_wallet(accounts, principal, address=body.wallet_address)
    return seed_ok(seed_wallet(wallet, with_user=False))


@router.get("/api/market/wallet-address", summary="The market's wallet address")
async def get_market_wallet(_principal: CurrentUser, accounts: AccountsDep) -> Response:
    """Any signed-in user may read it: bids are paid to it. 409 when none is set."""
    return seed_ok(seed_market_wallet(await service.market_wallet(accounts)))


@router.post(
    "/api/market/wallet-address",
    summary="Register the market's wallet address (admins)",
    openapi_extra=_body_doc(WalletIn),
)
async def post_market_wallet(
    request: Request, _admin: AdminUser, accounts: AccountsDep
) -> Response:
    body = await _read(request, WalletIn)
    wallet = await service.set_market_wallet(accounts, address=body.wallet_address, create=True)
    return seed_ok(seed_market_wallet(wallet))


@router.put(
    "/api/market/wallet-address",
    summary="Change the market's wallet address (admins)",
    openapi_extra=_body_doc(WalletIn),
)
async def put_market_wallet(request: Request, _admin: AdminUser, accounts: AccountsDep) -> Response:
    body = await _read(request, WalletIn)
    wallet = await service.set_market_wallet(accounts, address=body.wallet_address, create=False)
    return seed_ok(seed_market_wallet(wallet))


# ---------------------------------------------------------------- resources


@router.get("/api/user/resource", summary="The caller's resources (admins: all)")
async def list_resources(
    principal: CurrentUser,
    accounts: AccountsDep,
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
        accounts,
        principal,
        service.ResourceFilter(resource_id=resource, name=name, to_forecast=flag, user_id=user),
    )
    return seed_ok([seed_resource(r) for r in found])


@router.post(
    "/api/user/resource",
    status_code=201,
    summary="Register a resource",
    openapi_extra=_body_doc(ResourceIn),
)
async def post_resource(
    request: Request, principal: CurrentUser, accounts: AccountsDep
) -> Response:
    """`name` ≤ 64 of `[a-z0-9_-]`; `type` forecasts or measurements; `to_forecast` only
    with measurements; (user, name, type) unique. 201 with the resource."""
    body = await _read(request, ResourceIn)
    created = await service.add_resource(
        accounts, principal, name=body.name, type=body.type, to_forecast=body.to_forecast
    )
    return seed_ok(seed_resource(created), 201)


@router.get("/api/user/resource/{resource_id}", summary="One resource")
async def get_resource(resource_id: str, principal: CurrentUser, accounts: AccountsDep) -> Response:
    """Another user's resource is not found (409, as the seed answers for its other
    methods on this path), unless the caller is an admin."""
    return seed_ok(seed_resource(await service.resource(accounts, principal, resource_id)))


@router.patch(
    "/api/user/resource/{resource_id}",
    summary="Change a resource",
    openapi_extra=_body_doc(ResourcePatchIn),
)
async def patch_resource(
    resource_id: str, request: Request, principal: CurrentUser, accounts: AccountsDep
) -> Response:
    body = await _read(request, ResourcePatchIn)
    updated = await service.update_resource(
        accounts,
        principal,
        resource_id,
        name=body.name,
        type=body.type,
        to_forecast=body.to_forecast,
    )
    return seed_ok(seed_resource(updated))


@router.delete("/api/user/resource/{resource_id}", summary="Delete a resource")
async def delete_resource(
    resource_id: str, principal: CurrentUser, accounts: AccountsDep
) -> Response:
    deleted = await service.delete_resource(accounts, principal, resource_id)
    return seed_ok(f"Resource ID {deleted.id} deleted for user {principal.user.email}.")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _query_error(message: str, field: str) -> Invalid:
    """The seed raises these with a bare message: `data` is a list."""
    return Invalid(message, field=field, seed_data=[message])


VERIFIED_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Registration Successful</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; text-align: center; margin-top: 4em">
<h2>Registration Successful!</h2>
<p>Your e-mail address is verified. You can sign in now.</p>
</body>
</html>
"""
