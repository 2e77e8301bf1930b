"""FastAPI dependencies shared by the routers: what the composition root (`app.py`) puts
on `app.state` for them. Context-specific ones live in the context's `deps.py`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection


async def get_engine(conn: HTTPConnection) -> AsyncEngine:
    """The process's engine, for building a context's unit of work (async: no thread hop)."""
    engine: AsyncEngine = conn.app.state.engine
    return engine


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
