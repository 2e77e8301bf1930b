"""`/v1` market-data routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["market data"])
