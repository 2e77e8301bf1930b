"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tickhub.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_conn(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """A read connection for one request (reads only: writes go through services)."""
    async with runtime.engine.connect() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection, Depends(get_conn)]


def get_engine(runtime: RuntimeDep) -> AsyncEngine:
    """The process's engine, for building a context's unit of work."""
    return runtime.engine


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
