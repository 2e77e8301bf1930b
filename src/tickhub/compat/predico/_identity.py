"""Seed 003's sign-up, e-mail verification, tokens and password reset. The token and
reset views answer without the envelope, as the seed's did."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from tickhub.accounts import service
from tickhub.accounts.deps import AccountsDep
from tickhub.accounts.errors import AccountsError
from tickhub.accounts.mail import Outgoing
from tickhub.accounts.schemas import (
    CredentialsIn,
    GenerateLinkIn,
    RefreshIn,
    RegisterIn,
    ResetCompleteIn,
    ResetRequestIn,
)
from tickhub.accounts.service import Accounts
from tickhub.compat._envelopes import seed_ok
from tickhub.compat.predico._bodies import UnsupportedMediaType, body_doc, plain_error, read
from tickhub.compat.predico._envelope import TAGS, SeedRoute

RESET_REQUESTED = "If your email exists on the system an email has been sent to you"

router = APIRouter(tags=TAGS, route_class=SeedRoute)


# ---------------------------------------------------------------- sign-up and verification


@router.post(
    "/api/user/register",
    status_code=201,
    summary="Register (public)",
    openapi_extra=body_doc(RegisterIn),
)
async def register(request: Request, accounts: AccountsDep) -> Response:
    """201 with `{email, verification_link}` when verification is required and no SMTP is
    configured (with SMTP the link is mailed after the answer and `verification_link` is
    null), or `{message}` when verification is off. 400 naming the fields at fault
    (`password` for a weak one). An address that already has an account gets the answer
    of a new one where the link is mailed (its owner is told by mail), else 409."""
    body = await read(request, RegisterIn)
    done = await service.register(
        accounts,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
    )
    if not accounts.settings.require_verification:
        return seed_ok({"message": "User registered successfully."}, 201)
    return _after(seed_ok(_link_data(done), 201), accounts, done.mail)


def _after(response: Response, accounts: Accounts, mail: Outgoing | None) -> Response:
    """Send `mail` once `response` has gone out."""
    if mail is not None:
        response.background = BackgroundTask(accounts.send, mail)
    return response


def _link_data(done: service.Registration) -> dict[str, Any]:
    data: dict[str, Any] = {"email": done.user.email, "verification_link": done.verification_link}
    if done.mail is not None:
        data["message"] = (
            "The verification link is mailed to this address; if it does not come, ask "
            "for a new one at POST /api/user/verify/generate-link."
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
    openapi_extra=body_doc(GenerateLinkIn),
)
async def generate_link(request: Request, accounts: AccountsDep) -> Response:
    body = await read(request, GenerateLinkIn)
    done = await service.resend_verification(accounts, email=body.email, password=body.password)
    return _after(seed_ok(_link_data(done)), accounts, done.mail)


# ---------------------------------------------------------------- tokens (no envelope)


@router.post(
    "/api/token",
    summary="Sign in: a pair of tokens (public)",
    openapi_extra=body_doc(CredentialsIn),
)
async def token(request: Request, accounts: AccountsDep) -> Response:
    """200 `{access, refresh}` (plain, as simplejwt answers). 400
    `{"non_field_errors": ["Invalid login credentials"]}`, or `["Email not verified"]`
    when verification is required."""
    try:
        body = await read(request, CredentialsIn)
        pair = await service.login(accounts, email=body.email, password=body.password)
    except (AccountsError, UnsupportedMediaType) as exc:
        return plain_error(exc)
    return JSONResponse({"refresh": pair.refresh, "access": pair.access})


@router.post(
    "/api/token/refresh",
    summary="Rotate a refresh token (public)",
    openapi_extra=body_doc(RefreshIn),
)
async def token_refresh(request: Request, accounts: AccountsDep) -> Response:
    """200 `{access, refresh}`: the refresh token sent is used up. Sending it again is
    401 `Token is blacklisted` and revokes every token of its sign-in."""
    try:
        body = await read(request, RefreshIn)
        pair = await service.refresh(accounts, token=body.refresh)
    except (AccountsError, UnsupportedMediaType) as exc:
        return plain_error(exc)
    return JSONResponse({"access": pair.access, "refresh": pair.refresh})


# ---------------------------------------------------------------- password reset (no envelope)


@router.post(
    "/api/user/request-reset-email",
    summary="Mail a password-reset link (public)",
    openapi_extra=body_doc(ResetRequestIn),
)
async def request_reset(request: Request, accounts: AccountsDep) -> Response:
    """The same answer, as fast, whether or not the account exists. The link is mailed
    after the answer (never returned); without SMTP nothing is sent."""
    try:
        body = await read(request, ResetRequestIn)
    except (AccountsError, UnsupportedMediaType) as exc:
        return plain_error(exc)
    mail = await service.request_password_reset(accounts, email=body.email)
    return _after(JSONResponse({"success": RESET_REQUESTED}), accounts, mail)


@router.get(
    "/api/user/password-reset-confirm/{uidb64}/{token}",
    summary="Check a password-reset link (public)",
)
async def reset_confirm(uidb64: str, token: str, accounts: AccountsDep) -> Response:
    try:
        await service.check_reset_link(accounts, uidb64=uidb64, token=token)
    except AccountsError as exc:
        return plain_error(exc)
    return JSONResponse(
        {"success": True, "message": "Credentials Valid", "uidb64": uidb64, "token": token}
    )


@router.patch(
    "/api/user/password-reset-complete",
    summary="Set a new password with a reset link's uidb64 and token (public)",
    openapi_extra=body_doc(ResetCompleteIn),
)
async def reset_complete(request: Request, accounts: AccountsDep) -> Response:
    """A link works once and expires (`TICKHUB_AUTH_RESET_TTL_S`). Every session of the
    account is signed out."""
    try:
        body = await read(request, ResetCompleteIn)
        await service.complete_reset(
            accounts, uidb64=body.uidb64, token=body.token, password=body.password
        )
    except (AccountsError, UnsupportedMediaType) as exc:
        return plain_error(exc)
    return JSONResponse({"success": True, "message": "Password reset success"})


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
