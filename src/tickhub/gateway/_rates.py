"""Request rate limits: what a request counts against, and where the counts are kept.

A request counts against

- its principal (the user of a bearer token, or the API key) when it carries credentials
  that hold: a bot is a legitimate heavy writer, so writes have a per-principal budget of
  their own (`rate_limit_principal_writes`);
- otherwise the client's address: the peer's, or the one a trusted proxy forwarded
  (`trusted_proxies`; nothing else can choose it);
- and, for the strict class (sign-in, registration, a new verification link, a password
  reset mail), also the account named in the body: however many addresses an attacker
  has, one account gets `rate_limit_account` attempts.

The counts live in Redis when `TICKHUB_REDIS_URL` is set, so every API process shares
them (`--scale api=N` does not multiply the limits); in memory otherwise. While Redis
cannot be reached, each process counts in memory on its own and says so in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway.paths import ACCOUNT_PATHS, RouteClass, carries_credentials, classify
from tickhub.gateway.paths import normalize as normalize_path
from tickhub.problems import Envelopes
from tickhub.settings import GatewaySettings

log = logging.getLogger("tickhub.gateway")

Identify = Callable[[Scope], Awaitable[str | None]]
"""The principal a request's credentials name (`user:<id>`, `key:<id>`), None when it
carries none that hold. The app supplies it: the accounts context knows credentials."""

# How long one call to the shared storage may take, and how long after a failure the
# counts stay in memory before the storage is tried again.
STORAGE_TIMEOUT_S = 1.0
STORAGE_RETRY_S = 5.0
# A strict-class body larger than this is not searched for its account (those bodies are
# a few hundred bytes; the body limit refuses what is too large anyway).
ACCOUNT_BODY_MAX = 16 * 1024


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The configured limits; an empty sequence is no limit."""

    per_class: Mapping[RouteClass, Sequence[RateLimitItem]] = field(default_factory=dict)
    principal_writes: Sequence[RateLimitItem] = ()
    account: Sequence[RateLimitItem] = ()


def rate_limits(settings: GatewaySettings) -> RateLimits:
    configured = {
        RouteClass.LOGIN: settings.rate_limit_login,
        RouteClass.REGISTRATION: settings.rate_limit_registration,
        RouteClass.WRITES: settings.rate_limit_writes,
        RouteClass.READS: settings.rate_limit_reads,
    }

    def parsed(text: str) -> list[RateLimitItem]:
        return parse_many(text) if text else []

    return RateLimits(
        per_class={cls: parsed(text) for cls, text in configured.items() if text},
        principal_writes=parsed(settings.rate_limit_principal_writes),
        account=parsed(settings.rate_limit_account),
    )


async def close_storage(storage: Storage) -> None:
    """Close the storage's connections (Redis); nothing to do for memory. limits 5 has no
    close of its own: its Redis storage holds a redis-py client (`bridge.storage`)."""
    client = getattr(getattr(storage, "bridge", None), "storage", None)
    aclose = getattr(client, "aclose", None)
    if aclose is not None:
        await aclose()


def limit_storage(redis_url: str, *, key_prefix: str = "tickhub") -> Storage:
    """Redis (`redis://`, `rediss://`, `unix://`) when a URL is given, else memory."""
    if not redis_url:
        return MemoryStorage()
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    # An unreachable Redis must not hold requests for long: they count in memory meanwhile.
    return RedisStorage(
        uri,
        implementation="redispy",
        key_prefix=key_prefix,
        socket_connect_timeout=STORAGE_TIMEOUT_S,
        socket_timeout=STORAGE_TIMEOUT_S,
    )


def _digest(text: str) -> str:
    """Keys name no one in the storage: an address or account is kept as a digest."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Check:
    items: Sequence[RateLimitItem]
    namespace: str  # also what the refusal names: `login`, `writes per principal`, ...
    key: str


class RateLimitMiddleware:
    """Moving-window limits per route class, principal, address and account. Over a
    limit: 429 with `Retry-After` seconds, in the path's envelope."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RateLimits,
        envelopes: Envelopes,
        storage: Storage | None = None,
        identify: Identify | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.envelopes = envelopes
        self.storage = storage if storage is not None else MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        # Where the counts go while the shared storage cannot be reached.
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self._storage_down = False
        self._retry_at = 0.0
        self.identify = identify
        # The classes nothing counts (reads, unless a read limit is set): passed through
        # without looking for an address or a principal.
        free = {RouteClass.UNLIMITED}
        if not limits.per_class.get(RouteClass.READS):
            free.add(RouteClass.READS)
        self._free = frozenset(free)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route_class = classify(scope["method"], scope["path"])
        if route_class in self._free:
            await self.app(scope, receive, send)
            return
        checks, receive = await self._checks(scope, receive, route_class)
        for check in checks:
            for item in check.items:
                if not await self._hit(item, check):
                    await self._refuse(scope, receive, send, item, check)
                    return
        await self.app(scope, receive, send)

    async def _checks(
        self, scope: Scope, receive: Receive, route_class: RouteClass
    ) -> tuple[list[_Check], Receive]:
        limits = self.limits
        address = _address(scope)
        if route_class in (RouteClass.LOGIN, RouteClass.REGISTRATION):
            checks = [_Check(limits.per_class.get(route_class, ()), route_class.value, address)]
            if limits.account and normalize_path(scope["path"]) in ACCOUNT_PATHS:
                account, receive = await _account_of(scope, receive)
                if account:
                    checks.append(_Check(limits.account, "one account", _digest(account)))
            return checks, receive
        if route_class not in (RouteClass.WRITES, RouteClass.READS):
            return [], receive
        per_address = limits.per_class.get(route_class, ())
        per_principal = limits.principal_writes if route_class is RouteClass.WRITES else per_address
        principal = None
        if (per_address or per_principal) and carries_credentials(scope):
            principal = await self._principal(scope)
        if principal is not None:
            return [_Check(per_principal, f"{route_class.value} per principal", principal)], receive
        return [_Check(per_address, route_class.value, address)], receive

    async def _principal(self, scope: Scope) -> str | None:
        if self.identify is None:
            return None
        try:
            return await self.identify(scope)
        except Exception:  # credentials that do not hold count by address; the route says 401
            return None

    async def _hit(self, item: RateLimitItem, check: _Check) -> bool:
        if self._storage_down and time.monotonic() < self._retry_at:
            return await self._fallback.hit(item, check.namespace, check.key)
        try:
            allowed = await self.limiter.hit(item, check.namespace, check.key)
        except Exception as exc:  # the shared storage is unreachable: count here meanwhile
            if not self._storage_down:
                log.error(
                    "rate-limit storage unreachable (%s): counting in this process",
                    type(exc).__name__,
                )
            self._storage_down = True
            self._retry_at = time.monotonic() + STORAGE_RETRY_S
            return await self._fallback.hit(item, check.namespace, check.key)
        if self._storage_down:
            log.warning("rate-limit storage reachable again")
            self._storage_down = False
        return allowed

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, item: RateLimitItem, check: _Check
    ) -> None:
        limiter = self._fallback if self._storage_down else self.limiter
        try:
            stats = await limiter.get_window_stats(item, check.namespace, check.key)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # the storage went away meanwhile: the window's length is the bound
            retry_after = max(1, int(item.get_expiry()))
        detail = (
            f"too many requests: the limit for {check.namespace} is {item}; "
            f"retry in {retry_after} s"
        )
        response = self.envelopes.error(
            scope["path"],
            429,
            "Too Many Requests",
            detail,
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _account_of(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The e-mail address a strict-class body names (JSON or form-encoded, as the seed's
    views read them), and a `receive` that hands the route the body again."""
    messages: list[Message] = []
    size = 0
    complete = False
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > ACCOUNT_BODY_MAX:
            break
        if not message.get("more_body", False):
            complete = True
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    if not complete:
        return None, replay
    raw = b"".join(m.get("body", b"") for m in messages)
    return _email_in(scope, raw), replay


def _email_in(scope: Scope, raw: bytes) -> str | None:
    content_type = ""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value.decode("latin-1").split(";")[0].strip().lower()
    data: object
    try:
        if content_type == "application/x-www-form-urlencoded":
            data = dict(parse_qsl(raw.decode("utf-8", "replace")))
        else:
            data = json.loads(raw)
    except ValueError:
        return None
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email.strip():
        return None
    return email.strip().lower()
