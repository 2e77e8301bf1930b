"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

import tickhub
from tickhub.alerts.hub import AlertHub
from tickhub.bus import make_bus
from tickhub.common.errors import DomainError
from tickhub.common.looplag import LoopLag
from tickhub.compat import crypto_ticker
from tickhub.db import create_engine
from tickhub.deps import EngineDep
from tickhub.gateway import close_gateway, install_gateway
from tickhub.marketdata import router as market_router
from tickhub.marketdata.live.coalesce import Coalescer
from tickhub.marketdata.live.hub import LiveHub
from tickhub.marketdata.live.priceblocks import PriceBlocks
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.live.rollupcache import RollupCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.live.status import PipelineStatus
from tickhub.messages import message_codec
from tickhub.problems import Envelopes, domain_problem, problem
from tickhub.runtime import Runtime
from tickhub.settings import Settings, get_settings
from tickhub.websocket import RawSend


class StripTrailingSlash:
    """Every path works with and without a trailing slash (the seeds' clients use both),
    without a redirect that would turn a POST into a GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class HotReads:
    """The busiest public reads, the latest prices (`/v1/prices/{exchange}/{symbol}` and
    seed 004's `/api/current_price`), answered from memory ahead of FastAPI's router and
    dependency solver. It is the innermost layer: the request has passed the whole
    gateway (request id, security headers, rate limits, body limits; the access log and
    the metrics label it with the route's template, as the route would). Anything it
    does not answer from memory (a cold cache, an unknown symbol, other parameters, a
    HEAD) goes on to the route, which answers or words the error as before.

    An answer is encoded once per price: the bodies (with their headers) are kept by
    request (the path, or seed 004's query string) for the snapshot's current price
    index, and dropped when the snapshot brings a new index (a price changed)."""

    MAX_ANSWERS = 1024  # request spellings kept per index (clients choose them)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[str, Any] = {}  # the route each hot path belongs to
        self._index: object = None  # the price index the answers below were made from
        self._answers: dict[tuple[str, str | bytes], tuple[list[tuple[bytes, bytes]], bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path == "/api/current_price":
                hot = "current_price"
            elif path.startswith("/v1/prices/") and path.count("/") == 4:
                hot = "price"
            else:
                hot = ""
            route = self._routes.get(hot) if hot else None
            if route is not None and (answer := self._answer(scope, hot, path)) is not None:
                headers, body = answer
                scope["route"] = route
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await self.app(scope, receive, send)
            if hot and route is None and scope.get("route") is not None:
                self._routes[hot] = scope["route"]
            return
        await self.app(scope, receive, send)

    def _answer(
        self, scope: Scope, hot: str, path: str
    ) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        cache = getattr(scope["app"].state, "snapshot_cache", None)
        index = cache.prices if cache is not None else None
        if index is None:
            return None
        if index is not self._index:
            self._index = index
            self._answers.clear()
        key: tuple[str, str | bytes] = (hot, path if hot == "price" else scope["query_string"])
        known = self._answers.get(key)
        if known is not None:
            return list(known[0]), known[1]  # a copy: outer layers add their headers
        body = self._encode(cache, scope, hot, path)
        if body is None:
            return None
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        if len(self._answers) < self.MAX_ANSWERS:
            self._answers[key] = headers, body
        return list(headers), body

    @staticmethod
    def _encode(cache: Any, scope: Scope, hot: str, path: str) -> bytes | None:
        if hot == "price":
            _, _, _, exchange, symbol = path.split("/")
            if not exchange or not symbol:
                return None
            return market_router.hot_price(cache, exchange, symbol)
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if len(query) != 1 or query[0][0] != "symbol":
            return None
        return crypto_ticker.hot_current_price(cache, query[0][1])


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The web app. With a `runtime` (from `tickhub up` or a test) it serves that process's
    engine and bus; without one it builds its own from `settings` (`tickhub api`)."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with serving(app):
                yield
        finally:
            await close_gateway(app)

    @asynccontextmanager
    async def serving(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            async with _background(app, runtime):
                yield
            return
        # `tickhub api`: its own engine, and the configured bus for live updates
        engine = create_engine(settings.resolved_database_url)
        bus = make_bus(settings.bus_url, codec=message_codec())
        own = Runtime(settings=settings, engine=engine, bus=bus)
        _expose(app, own)
        await own.bus.start()
        try:
            async with _background(app, own):
                yield
        finally:
            await own.bus.close()
            await engine.dispose()

    app = FastAPI(
        title="tickhub",
        version=tickhub.__version__,
        description="Self-hosted crypto market-data hub and trading-bot backend.",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    if runtime is not None:
        _expose(app, runtime)
    app.add_middleware(StripTrailingSlash)
    _install_error_handlers(app)
    app.state.envelopes = _mount_routers(app)
    install_gateway(app, settings, app.state.envelopes, identify=_principal_key)
    app.user_middleware.append(Middleware(HotReads))  # innermost: inside the gateway
    # outermost: a websocket's own `send`, before anything wraps it (the live stream's
    # fast path finds the server's transport through it)
    app.user_middleware.insert(0, Middleware(RawSend))
    return app


async def _principal_key(scope: Scope) -> str | None:
    """Whom a request counts against for the gateway's per-principal limits: its API key,
    or the user of its bearer token; None without credentials that hold. Resolved once
    per request: the routes reuse it."""
    from starlette.requests import HTTPConnection

    from tickhub.accounts.deps import authenticate

    principal = await authenticate(HTTPConnection(scope))
    if principal is None:
        return None
    if principal.api_key_id is not None:
        return f"key:{principal.api_key_id}"
    return f"user:{principal.id}"


def _expose(app: FastAPI, runtime: Runtime) -> None:
    """Put on `app.state` what the routers, the gateway and the accounts dependency use
    (through the typed dependencies of `tickhub.deps` and the contexts' `deps`); the
    runtime object itself stays here."""
    state = app.state
    state.settings = runtime.settings
    state.engine = runtime.engine
    state.bus = runtime.bus
    state.live_hub = runtime.live
    state.pipeline = PipelineStatus(runtime)


@asynccontextmanager
async def _background(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
    """What runs while the web app does: the WebSocket fan-out (`/v1/stream`), the
    in-memory `/v1/snapshot` (rebuilt after every insert) and each user's alerts pushed
    on `/v1/alerts/stream`; stopped in reverse order."""
    if runtime.live is None:
        runtime.live = LiveHub(runtime.bus)
    _expose(app, runtime)
    app.state.snapshot_cache = snapshots = SnapshotCache(runtime.engine, runtime.bus)
    app.state.read_cache = reads = ReadCache(
        runtime.bus, max_bytes=int(runtime.settings.read_cache_mb * 1024 * 1024)
    )
    app.state.read_flights = Coalescer()
    app.state.rollup_cache = rollups = RollupCache(
        runtime.bus, max_bytes=int(runtime.settings.rollup_cache_mb * 1024 * 1024)
    )
    app.state.price_blocks = prices = PriceBlocks(
        runtime.bus, max_bytes=int(runtime.settings.price_cache_mb * 1024 * 1024)
    )
    app.state.alert_hub = alerts = AlertHub(runtime.bus)
    app.state.loop_lag = lag = LoopLag()
    lag.start()
    async with AsyncExitStack() as stack:
        stack.callback(lag.stop)
        for service in (runtime.live, snapshots, reads, rollups, prices, alerts):
            await service.start()
            stack.push_async_callback(service.stop)
        yield


def _mount_routers(app: FastAPI) -> Envelopes:
    """Mounts every router; returns the seed contracts' envelopes, for the errors raised
    outside their routes."""
    from fastapi import Depends

    from tickhub import public
    from tickhub.accounts import router as accounts
    from tickhub.alerts import router as alerts
    from tickhub.compat import crypto_ticker, predico, prices_tracker, trading_datastore
    from tickhub.marketdata import router
    from tickhub.marketdata.coinmarketcap import router as cmc_router
    from tickhub.sessions import router as sessions
    from tickhub.web import router as web

    # Private by default: this reaches every route added from here on; the public ones
    # are listed in `tickhub.public`.
    app.router.dependencies.append(Depends(public.require_authentication))
    # The market-data reads first: routes are matched in mounting order, and these are
    # the busiest (no path of them overlaps a later one).
    app.include_router(crypto_ticker.router)
    app.include_router(router.router, prefix="/v1")
    accounts.install(app)
    app.include_router(predico.router)
    app.include_router(_health_router())
    app.include_router(prices_tracker.router)
    app.include_router(cmc_router.router, prefix="/v1")
    app.include_router(trading_datastore.datasets_router)
    app.include_router(trading_datastore.sessions_router)
    sessions.install(app)
    alerts.install(app)
    app.include_router(web.router)
    return Envelopes(
        (
            predico.ENVELOPE,
            prices_tracker.ENVELOPE,
            crypto_ticker.ENVELOPE,
            trading_datastore.ENVELOPE,
        )
    )


def _health_router() -> Any:
    from fastapi import APIRouter

    r = APIRouter(tags=["health"])

    @r.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @r.get("/readyz", summary="The database answers and the pipeline is running")
    async def readyz(engine: EngineDep) -> Response:
        checks: dict[str, str] = {}
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready
            checks["database"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    return r


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> Response:
        """A domain error raised by a route of `/v1` (or any route no seed contract owns:
        theirs answer in their envelope) as a problem document."""
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        error = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if error is not None:
            # Not JSON at all: there is no field to name but the body itself.
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            message = f"malformed JSON: {reason} (character {error['loc'][-1]})"
            errors = [{"field": "body", "in": "body", "message": message}]
            return problem(400, "Bad Request", message, field="body", errors=errors)
        errors = [
            {
                "field": _field_name(tuple(e.get("loc", ()))),
                "in": str(e.get("loc", ("",))[0]),
                "message": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem(422, "Unprocessable Content", f"invalid value for {fields}", errors=errors)


def _field_name(loc: tuple[Any, ...]) -> str:
    """`("body", "items", 0, "price")` → `items.0.price`; the whole body → `body`."""
    return ".".join(str(p) for p in loc[1:]) or (str(loc[0]) if loc else "")
