"""The dashboard's workbench in a real browser (see tests/fixtures/workbench.py): every test
here runs the real app over its own SQLite file and opens the dashboard in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.workbench import Dashboard, open_dashboard, sqlite_url
from tickhub.runtime import Runtime


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@pytest.fixture
async def dashboard(runtime: Runtime) -> AsyncIterator[Dashboard]:
    async with open_dashboard(runtime) as opened:
        yield opened
