"""The gateway's own routes: Prometheus `/metrics`, and the API docs served from local
files (Swagger UI and ReDoc from the `fastapi-offline` package), so `/docs` works without
internet and under a strict Content-Security-Policy."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import fastapi.routing
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from tickhub.gateway._metrics import UNMATCHED

DOCS_ASSETS = "/docs/assets"
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        summary="Prometheus metrics",
        description="HTTP requests by method, route template and status; bus, writer, "
        "tracker and WebSocket counters. Text exposition format (OpenMetrics on request).",
    )
    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), media_type=content_type)

    return router


def install_docs(app: FastAPI) -> None:
    """Replaces FastAPI's CDN-backed docs pages by local ones at the same URLs."""
    pages = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url} - {None}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in pages]
    if not pages:
        return
    app.mount(
        DOCS_ASSETS,
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="docs-assets",
    )
    # The pages close over these values, never over `app`: FastAPI caches facts about each
    # endpoint function (4,096 of them) and so keeps alive whatever the function holds.
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    title = app.title
    # no badge fetched from the public validator
    swagger_parameters = {**(app.swagger_ui_parameters or {}), "validatorUrl": None}

    if app.docs_url:

        @app.get(app.docs_url, include_in_schema=False)
        async def swagger_ui(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            page = get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{title} - Swagger UI",
                oauth2_redirect_url=oauth2_redirect_url,
                swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                swagger_ui_parameters=swagger_parameters,
            )
            return _with_nonce(page)

        if oauth2_redirect_url:

            @app.get(oauth2_redirect_url, include_in_schema=False)
            async def swagger_ui_redirect() -> HTMLResponse:
                return _with_nonce(get_swagger_ui_oauth2_redirect_html())

    if app.redoc_url:

        @app.get(app.redoc_url, include_in_schema=False)
        async def redoc(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            page = get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{title} - ReDoc",
                redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            )
            return _with_nonce(page)


def _with_nonce(page: HTMLResponse) -> HTMLResponse:
    """The page's inline scripts run under a per-response nonce; nothing else inline does."""
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": _DOCS_CSP.format(nonce=nonce)})


def _flat_routes(routes: list[BaseRoute]) -> Iterator[Any]:
    """Every route with its full path: FastAPI ≥ 0.16x keeps included routers whole and
    gives their routes' prefixed templates through `iter_route_contexts`; older ones
    flattened them into the app's list already."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    items: Iterable[Any] = flatten(routes) if flatten is not None else routes
    yield from items


class RouteTemplates:
    """The template (`/v1/prices/{exchange}/{symbol}`) of the route that answered a
    request, for labels that must not hold raw paths."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._routes = routes  # the app's own list: routers included later show up
        self._index: defaultdict[int, list[Any]] | None = None

    def __call__(self, route: BaseRoute | None, request: Scope) -> str:
        """`route` is the one that answered, if any; `request` the scope as it came in
        (routing rewrites `root_path` on the way down)."""
        if route is not None:
            candidates = self._candidates(route)
            if len(candidates) == 1:
                return str(candidates[0].path_format)
            found = self._match(request, candidates)
            if found is not None:
                return found
        # Answered before or without routing (a limit, a preflight, a mount, a 404).
        return self._match(request, _flat_routes(self._routes)) or UNMATCHED

    def only(self, route: BaseRoute) -> str | None:
        """The template of `route` when it alone has it (no scope needed); None when the
        same route is mounted at several paths and the request must tell which."""
        candidates = self._candidates(route)
        return str(candidates[0].path_format) if len(candidates) == 1 else None

    def _candidates(self, route: BaseRoute) -> list[Any]:
        if self._index is None or id(route) not in self._index:
            index: defaultdict[int, list[Any]] = defaultdict(list)
            for r in _flat_routes(self._routes):
                index[id(getattr(r, "original_route", r))].append(r)
            self._index = index
        return self._index[id(route)]  # an unknown route is noted as such: no rebuild loop

    @staticmethod
    def _match(request: Scope, routes: Iterable[Any]) -> str | None:
        partial: str | None = None
        for r in routes:
            match, _ = r.matches(request)
            template = getattr(r, "path_format", None)
            if template is None:
                continue
            if match is Match.FULL:
                return str(template)
            if match is Match.PARTIAL and partial is None:
                partial = str(template)
        return partial
