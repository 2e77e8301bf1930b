"""The dashboard's files as the app serves them: the page, every module it loads (followed
through their `import`s, as a browser follows them), the style and the chart library, each
with its type and caching; nothing else under /static."""

from __future__ import annotations

import re

import httpx
import pytest

IMPORT = re.compile(r'^import [^;]*? from "\./([a-z0-9-]+\.js)";', re.MULTILINE)


async def test_every_module_the_page_loads_is_served_as_javascript(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    scripts = re.findall(r'<script type="module" src="/static/([a-z0-9-]+\.js)">', page.text)
    assert scripts == ["dashboard.js"]
    seen: set[str] = set()
    todo = list(scripts)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        r = await client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"] == "text/javascript; charset=utf-8"
        assert r.headers["cache-control"] == "no-cache"
        todo += IMPORT.findall(r.text)
    # every panel's module is reached from the entry point
    assert {"api.js", "strategies.js", "alerts.js", "backtest.js", "market.js"} <= seen

    css = await client.get("/static/dashboard.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    library = await client.get("/static/lightweight-charts.js")
    assert library.status_code == 200
    assert library.headers["cache-control"] == "public, max-age=86400"


@pytest.mark.parametrize(
    "name", ["dashboard.html", "nope.js", "..%2Frouter.py", "__init__.py", "DASHBOARD.JS"]
)
async def test_nothing_else_is_served(client: httpx.AsyncClient, name: str) -> None:
    r = await client.get(f"/static/{name}")
    assert r.status_code == 404, name
