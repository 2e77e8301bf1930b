"""Seed 000, the AI trading bot's datastore microservice: trading sessions and their
transactions (`/session...`), and the training data sets it left "Not Implemented"
(`/crypto/training_data...`)."""

from tickhub.compat.trading_datastore import _datasets, _sessions
from tickhub.compat.trading_datastore._envelope import ENVELOPE

sessions_router = _sessions.router
datasets_router = _datasets.router

__all__ = ["ENVELOPE", "datasets_router", "sessions_router"]
