"""Once the server of `tickhub up` or `tickhub api` serves, start-up's heap is out of the
collector's way (`settle_heap`): checked in a child process, since it changes the
interpreter's collector."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tickhub.bootstrap._heap import YOUNG_THRESHOLD

_CHILD = textwrap.dedent(
    """
    import asyncio, gc, sys

    import uvicorn
    from starlette.applications import Starlette

    from tickhub.bootstrap import _parts


    async def main() -> None:
        config = uvicorn.Config(Starlette(), host="127.0.0.1", port=0, log_level="warning")
        config.load()
        server = getattr(_parts, sys.argv[1])(config)
        server.lifespan = config.lifespan_class(config)
        before = gc.get_freeze_count()
        await server.startup()
        print(server.started, before, gc.get_freeze_count(), gc.get_threshold()[0])
        await server.shutdown()


    asyncio.run(main())
    """
)


@pytest.mark.parametrize("server", ["QuietServer", "ServingServer"])  # tickhub up, tickhub api
def test_the_heap_is_frozen_once_the_server_serves(server: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, server],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    started, before, after, young = out
    assert started == "True"
    assert before == "0"
    assert int(after) > 10_000  # the modules, classes and functions loaded so far
    assert int(young) == YOUNG_THRESHOLD
