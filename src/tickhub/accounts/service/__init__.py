"""Accounts use cases: users, sign-in and tokens, passwords, API keys and settings. Each
opens one transaction; errors are `tickhub.accounts.errors`."""

from tickhub.accounts.service._context import (
    Accounts,
    Clock,
    Principal,
    build_accounts,
    server_key,
)
from tickhub.accounts.service._keys import (
    api_key,
    api_keys,
    authenticate_api_key,
    create_api_key,
    merge_patch,
    patch_settings,
    replace_settings,
    revoke_api_key,
    user_settings,
)
from tickhub.accounts.service._passwords import (
    ResetLinkInvalid,
    change_password,
    check_reset_link,
    complete_reset,
    request_password_reset,
)
from tickhub.accounts.service._profile import create_admin, profile, update_profile, users
from tickhub.accounts.service._signup import (
    Registration,
    VerificationFailed,
    register,
    resend_verification,
    verification_link,
    verify_email,
)
from tickhub.accounts.service._tokens import TokenPair, authenticate_token, login, refresh

__all__ = [
    "Accounts",
    "Clock",
    "Principal",
    "Registration",
    "ResetLinkInvalid",
    "TokenPair",
    "VerificationFailed",
    "api_key",
    "api_keys",
    "authenticate_api_key",
    "authenticate_token",
    "build_accounts",
    "change_password",
    "check_reset_link",
    "complete_reset",
    "create_admin",
    "create_api_key",
    "login",
    "merge_patch",
    "patch_settings",
    "profile",
    "refresh",
    "register",
    "replace_settings",
    "request_password_reset",
    "resend_verification",
    "revoke_api_key",
    "server_key",
    "update_profile",
    "user_settings",
    "users",
    "verification_link",
    "verify_email",
]
