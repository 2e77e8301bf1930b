"""The dashboard at `/`: one HTML page, its scripts (ES modules, one per panel, loaded
by the browser as they are: no build step) and style, and the charting library.

Everything is served by tickhub itself (machines may be offline): the page's own files
from `tickhub.web.static` (every `.js` and `.css` file there), and TradingView's
Lightweight Charts from the installed `lightweight-charts` package (PyPI), which bundles
the library's standalone build.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from tickhub.problems import problem

router = APIRouter(tags=["dashboard"], include_in_schema=False)

_OWN_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
_OWN_NAME = re.compile(r"^[a-z][a-z0-9-]*\.(js|css)$")
# the library: name -> (package, resource path, content type)
_LIBRARIES: dict[str, tuple[str, str, str]] = {
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


@cache
def _own_files() -> frozenset[str]:
    """The page's own scripts and styles: the files of `static/` (read once)."""
    static = resources.files("tickhub.web").joinpath("static")
    return frozenset(f.name for f in static.iterdir() if _OWN_NAME.match(f.name))


def _asset(name: str) -> tuple[str, str, str] | None:
    """(package, resource path, content type) of a static file, or None."""
    if name in _own_files():
        return "tickhub.web", f"static/{name}", _OWN_TYPES[name.rsplit(".", 1)[1]]
    return _LIBRARIES.get(name)


@router.get("/")
async def dashboard() -> Response:
    body = _read("tickhub.web", "static/dashboard.html")
    return Response(body, media_type="text/html; charset=utf-8", headers={"Cache-Control": _OWN})


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    found = _asset(name)
    if found is None:
        return problem(404, "Not Found", f"no static file {name!r}")
    package, path, content_type = found
    cache_control = _LIBRARY if package != "tickhub.web" else _OWN
    return Response(
        _read(package, path), media_type=content_type, headers={"Cache-Control": cache_control}
    )
