"""The seed paths (seed 001 tracker API, seed 004 crypto-ticker API) with their shapes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["seed compatibility"])
