"""The gateway: what every HTTP request passes through, installed once by `create_app`.

Layers, outermost first (a request meets them in this order; a response leaves through
them in reverse):

0. uvicorn's `ProxyHeadersMiddleware`, only when `TICKHUB_GATEWAY_TRUSTED_PROXIES` lists
   the reverse proxy: the client address and scheme it forwards, believed from it alone.
1. `RequestIdMiddleware`: accepts a sane `X-Request-ID` or makes one; puts it on every
   response, errors included.
2. `SecurityHeadersMiddleware`: nosniff, frame denial, no referrer, the CSP, HSTS on
   https, `Cache-Control: no-store` on writes, auth and credentialed requests.
3. `TelemetryMiddleware`: the JSON access-log line and the Prometheus observation; a
   crash before any response becomes a 500 in the path's envelope.
4. `CORSMiddleware` (Starlette), only when `TICKHUB_GATEWAY_CORS_ORIGINS` lists origins.
5. `RateLimitMiddleware`: 429 with `Retry-After`, per route class and principal, client
   address or account (`_rates`); the counts are shared through Redis when
   `TICKHUB_REDIS_URL` is set.
6. `BodyLimitMiddleware`: 413 by Content-Length or by counting streamed bytes.
   ... the app's own middleware and routes ...
7. `RouteCaptureMiddleware` (innermost): records the route that answered, whose
   template labels the access log and the metrics.

Routes: `/metrics`, and `/docs`, `/redoc` served from local files. Errors the framework
raises itself (404, 405, an unreadable body) take the envelope of their path.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tickhub.gateway._context import (
    REQUEST_ID_HEADER,
    RequestIdMiddleware,
    RouteCaptureMiddleware,
    current_request_id,
)
from tickhub.gateway._errors import http_errors
from tickhub.gateway._headers import SecurityHeadersMiddleware
from tickhub.gateway._limits import BodyLimitMiddleware
from tickhub.gateway._logs import RedactFilter, install_log_redaction, logging_config, redact
from tickhub.gateway._metrics import HttpMetrics
from tickhub.gateway._rates import (
    Identify,
    RateLimitMiddleware,
    close_storage,
    limit_storage,
    rate_limits,
)
from tickhub.gateway._telemetry import TelemetryMiddleware
from tickhub.gateway.router import RouteTemplates, install_docs, metrics_router
from tickhub.problems import Envelopes
from tickhub.settings import Settings

__all__ = [
    "REQUEST_ID_HEADER",
    "Identify",
    "RedactFilter",
    "close_gateway",
    "current_request_id",
    "install_gateway",
    "logging_config",
    "redact",
]


async def close_gateway(app: FastAPI) -> None:
    """What the gateway holds open (the rate limits' Redis connections): closed when the
    app stops."""
    storage = getattr(app.state, "rate_limit_storage", None)
    if storage is not None:
        await close_storage(storage)


def install_gateway(
    app: FastAPI,
    settings: Settings,
    envelopes: Envelopes | None = None,
    *,
    identify: Identify | None = None,
) -> None:
    """Wraps every route of `app` in the gateway layers and adds its routes. Call once,
    after the routers are mounted. Errors the gateway answers (and the framework's own)
    take the envelope of their path from `envelopes`: problem+json without one.
    `identify` names a request's principal for the per-principal limits."""
    gw = settings.gateway
    envelopes = envelopes or Envelopes()
    metrics = HttpMetrics(app.state)
    app.include_router(metrics_router(metrics.registry))
    install_docs(app)
    install_log_redaction()
    app.add_exception_handler(HTTPException, http_errors(envelopes))

    # add_middleware puts each new layer outside the previous ones: innermost first.
    app.user_middleware.append(Middleware(RouteCaptureMiddleware))
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=gw.max_body_bytes,
        bulk_max_bytes=gw.max_bulk_body_bytes,
        envelopes=envelopes,
    )
    # the app's lifespan closes it (`close_gateway`)
    app.state.rate_limit_storage = limit_storage(
        settings.redis_url, key_prefix=gw.rate_limit_key_prefix
    )
    app.add_middleware(
        RateLimitMiddleware,
        limits=rate_limits(gw),
        envelopes=envelopes,
        storage=app.state.rate_limit_storage,
        identify=identify,
    )
    if gw.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=gw.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            allow_credentials=gw.cors_allow_credentials,
            max_age=gw.cors_max_age_s,
        )
    app.add_middleware(
        TelemetryMiddleware,
        metrics=metrics,
        route_of=RouteTemplates(app.router.routes),
        envelopes=envelopes,
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        content_security_policy=gw.content_security_policy,
        hsts_max_age_s=gw.hsts_max_age_s,
    )
    app.add_middleware(RequestIdMiddleware)
    if gw.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=gw.trusted_proxies)
