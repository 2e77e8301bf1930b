"""An app that is no longer used is freed: nothing module-level (FastAPI's caches of
endpoint facts, the routers every app includes) keeps one alive. A process builds one
app, but the tests build hundreds, and each held ~3 MB until the process ended."""

from __future__ import annotations

import gc
import weakref

from tickhub.app import create_app
from tickhub.settings import Settings


def test_an_app_no_longer_used_is_freed() -> None:
    apps = [weakref.ref(create_app(Settings(_env_file=None))) for _ in range(3)]
    gc.collect()
    assert [ref() is None for ref in apps] == [True, True, True]
