"""FastAPI dependencies: the market use cases, on the app's engine and bus."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from tickhub.market.errors import Unavailable
from tickhub.market.service import Market, build_market
from tickhub.market.worker import announcer


def get_market(conn: HTTPConnection) -> Market:
    """Built on first use from the app's settings, engine and bus, then kept in
    `app.state.market`; tests may put their own there."""
    state = conn.app.state
    market: Market | None = getattr(state, "market", None)
    if market is None:
        engine = getattr(state, "engine", None)
        if engine is None:
            raise Unavailable("the market is unavailable: the app has no database")
        bus = getattr(state, "bus", None)
        market = build_market(
            state.settings.market, engine, announce=announcer(bus) if bus is not None else None
        )
        state.market = market
    return market


MarketDep = Annotated[Market, Depends(get_market)]
