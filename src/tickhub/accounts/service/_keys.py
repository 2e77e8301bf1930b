"""API keys for bots, and the user's settings document (seed 002 userManager)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from tickhub.accounts.errors import Conflict, Forbidden, Invalid, InvalidCredentials, NotFound
from tickhub.accounts.repository import ApiKeyRecord
from tickhub.accounts.security import api_key_prefix, hash_api_key, new_api_key, same_hash
from tickhub.accounts.service._context import Accounts, Principal, log
from tickhub.accounts.service._tokens import API_KEY_INVALID

MAX_ACTIVE_KEYS = 100
TOUCH_EVERY = timedelta(seconds=60)
MAX_SETTINGS_BYTES = 64 * 1024
MAX_SETTINGS_DEPTH = 32


# ---------------------------------------------------------------- API keys


async def create_api_key(
    a: Accounts, principal: Principal, *, name: str
) -> tuple[ApiKeyRecord, str]:
    """A new key, returned once with its record; only its hash is kept. A key cannot
    make keys: that takes a signed-in user."""
    if principal.via == "api_key":
        raise Forbidden("an API key cannot create API keys: sign in with a password")
    made = new_api_key()
    key_id = str(uuid.uuid4())
    async with a.uow() as tx:
        repo = tx.accounts
        active = [k for k in await repo.keys(principal.id) if k.revoked_at is None]
        if len(active) >= MAX_ACTIVE_KEYS:
            raise Conflict(f"at most {MAX_ACTIVE_KEYS} active API keys; revoke one", field="name")
        await repo.add_key(
            id=key_id,
            user_id=principal.id,
            name=name,
            prefix=made.prefix,
            key_hash=made.key_hash,
            created_at=a.clock(),
        )
        record = await repo.key(key_id, principal.id)
        await tx.commit()
    assert record is not None
    log.info("user %s created API key %s", principal.id, key_id)
    return record, made.key


async def api_keys(
    a: Accounts, principal: Principal, *, user_id: str | None = None
) -> list[ApiKeyRecord]:
    """The caller's keys; an admin may ask for another user's (or everyone's: `user_id`
    None with no filter is the caller's own, for admins too)."""
    if user_id is not None and user_id != principal.id and not principal.is_admin:
        raise Forbidden("only an admin can list another user's keys", field="user_id")
    async with a.uow() as tx:
        return await tx.accounts.keys(user_id or principal.id)


async def api_key(a: Accounts, principal: Principal, key_id: str) -> ApiKeyRecord:
    async with a.uow() as tx:
        record = await tx.accounts.key(key_id, principal.scope())
    if record is None:
        raise NotFound("no API key with this id", field="key_id")
    return record


async def revoke_api_key(a: Accounts, principal: Principal, key_id: str) -> ApiKeyRecord:
    """Revoke (idempotent). Another user's key is not found, unless the caller is admin."""
    async with a.uow() as tx:
        repo = tx.accounts
        record = await repo.key(key_id, principal.scope())
        if record is None:
            raise NotFound("no API key with this id", field="key_id")
        await repo.revoke_key(key_id, a.clock())
        record = await repo.key(key_id, None)
        await tx.commit()
    assert record is not None
    log.info("API key %s revoked by user %s", key_id, principal.id)
    return record


async def authenticate_api_key(a: Accounts, key: str) -> Principal:
    """The owner of a valid, unrevoked key (compared by hash, in constant time)."""
    prefix = api_key_prefix(key)
    if prefix is None:
        raise InvalidCredentials(API_KEY_INVALID)
    now = a.clock()
    async with a.uow() as tx:
        repo = tx.accounts
        record = await repo.key_by_prefix(prefix)
        if (
            record is None
            or not same_hash(record.key_hash, hash_api_key(key))
            or record.revoked_at is not None
        ):
            raise InvalidCredentials(API_KEY_INVALID)
        user = await repo.user_by_id(record.user_id)
        if user is None:
            raise InvalidCredentials(API_KEY_INVALID)
        await repo.touch_key(record.id, now, stale_before=now - TOUCH_EVERY)
        await tx.commit()
    return Principal(user, via="api_key", api_key_id=record.id)


# ---------------------------------------------------------------- settings


async def user_settings(a: Accounts, principal: Principal) -> dict[str, Any]:
    async with a.uow() as tx:
        return await tx.accounts.settings(principal.id) or {}


async def replace_settings(
    a: Accounts, principal: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    _check_shape(data)
    async with a.uow() as tx:
        await tx.accounts.put_settings(principal.id, data, a.clock())
        await tx.commit()
    return data


async def patch_settings(
    a: Accounts, principal: Principal, patch: dict[str, Any]
) -> dict[str, Any]:
    """JSON Merge Patch (RFC 7396): objects merge, `null` removes a member."""
    _check_shape(patch)
    async with a.uow() as tx:
        repo = tx.accounts
        merged = merge_patch(await repo.settings(principal.id) or {}, patch)
        assert isinstance(merged, dict)
        _check_shape(merged)
        await repo.put_settings(principal.id, merged, a.clock())
        await tx.commit()
    return merged


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _check_shape(data: dict[str, Any]) -> None:
    """Plain JSON (no NaN or Infinity), at most 32 levels deep and 64 KiB."""
    if _depth(data) > MAX_SETTINGS_DEPTH:
        raise Invalid(f"settings nest deeper than {MAX_SETTINGS_DEPTH} levels", field="settings")
    try:
        size = len(json.dumps(data, separators=(",", ":"), allow_nan=False).encode())
    except ValueError as exc:
        raise Invalid(
            "settings hold NaN or Infinity, which JSON has not", field="settings"
        ) from exc
    if size > MAX_SETTINGS_BYTES:
        raise Invalid(
            f"settings take {size} bytes; at most {MAX_SETTINGS_BYTES} are kept", field="settings"
        )


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_SETTINGS_DEPTH:
            break
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return deepest
