"""Once `tickhub up`'s server serves, start-up's heap is out of the collector's way
(`settle_heap`): checked in a child process, since it changes the interpreter's collector."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tickhub.bootstrap._heap import YOUNG_THRESHOLD

_CHILD = textwrap.dedent(
    """
    import asyncio, gc

    import uvicorn
    from starlette.applications import Starlette

    from tickhub.bootstrap._parts import QuietServer


    async def main() -> None:
        config = uvicorn.Config(Starlette(), host="127.0.0.1", port=0, log_level="warning")
        config.load()
        server = QuietServer(config)
        server.lifespan = config.lifespan_class(config)
        before = gc.get_freeze_count()
        await server.startup()
        print(server.started, before, gc.get_freeze_count(), gc.get_threshold()[0])
        await server.shutdown()


    asyncio.run(main())
    """
)


def test_the_heap_is_frozen_once_the_server_serves() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    started, before, after, young = out
    assert started == "True"
    assert before == "0"
    assert int(after) > 10_000  # the modules, classes and functions loaded so far
    assert int(young) == YOUNG_THRESHOLD
