"""The dashboard at `/`: one HTML page, its script and style, and the charting library.

Everything is served by tickhub itself (machines may be offline): the page's own files
from `tickhub.web.static`, and TradingView's Lightweight Charts from the installed
`lightweight-charts` package (PyPI), which bundles the library's standalone build.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from tickhub.problems import problem

router = APIRouter(tags=["dashboard"], include_in_schema=False)

# name -> (package, resource path, content type)
_ASSETS: dict[str, tuple[str, str, str]] = {
    "dashboard.js": ("tickhub.web", "static/dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": ("tickhub.web", "static/dashboard.css", "text/css; charset=utf-8"),
    "lightweight-charts.js": (
        "lightweight_charts",
        "js/lightweight-charts.js",
        "text/javascript; charset=utf-8",
    ),
}
# The page and its own files may change with any upgrade: revalidate each time.
# The library is versioned by its package: cache it for a day.
_OWN = "no-cache"
_LIBRARY = "public, max-age=86400"


@cache
def _read(package: str, path: str) -> bytes:
    return resources.files(package).joinpath(path).read_bytes()


@router.get("/")
async def dashboard() -> Response:
    body = _read("tickhub.web", "static/dashboard.html")
    return Response(body, media_type="text/html; charset=utf-8", headers={"Cache-Control": _OWN})


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    found = _ASSETS.get(name)
    if found is None:
        return problem(404, "Not Found", f"no static file {name!r}")
    package, path, content_type = found
    cache_control = _LIBRARY if package != "tickhub.web" else _OWN
    return Response(
        _read(package, path), media_type=content_type, headers={"Cache-Control": cache_control}
    )
