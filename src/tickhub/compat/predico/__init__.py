"""Seed 003 (Predico, Django REST framework) account and market paths, with the seed's shapes, so
that its clients work unchanged.

Most answers are the seed's envelope: `{"code", "data"}`, or on error
`{"code", "data", "status": "error", "message"}` (a 400 carries the field errors in
`data`). The token and password-reset views of the seed have no envelope (plain DRF
bodies), and neither do they here. Bodies may be JSON or form-encoded; unknown fields
are ignored, as DRF does.

- `_envelope`: the envelope, and the route class that answers in it;
- `_bodies`: request bodies read and checked as DRF does, with its messages;
- `_identity`: sign-up, e-mail verification, tokens and password reset;
- `_query`: the seed's query-parameter checks;
- `_holdings`: users, wallet addresses and resources;
- `_sessions`: market sessions, bids and payment validation;
- `_money`: balances, transactions, fees, price weights, transfers out;
- `_data`: raw data, market forecasts and notifications.
"""

from fastapi import APIRouter

from tickhub.compat.predico import _data, _holdings, _identity, _money, _sessions
from tickhub.compat.predico._bodies import drf_errors
from tickhub.compat.predico._envelope import ENVELOPE

router = APIRouter()


@router.get("/api/test", summary="The seed's welcome route (anyone)", tags=["accounts (seed 003)"])
async def welcome() -> dict[str, str]:
    """As the seed: no envelope."""
    return {"message": "Welcome to Predico!"}


router.include_router(_identity.router)
router.include_router(_holdings.router)
router.include_router(_sessions.router)
router.include_router(_money.router)
router.include_router(_data.router)

__all__ = ["ENVELOPE", "drf_errors", "router"]
