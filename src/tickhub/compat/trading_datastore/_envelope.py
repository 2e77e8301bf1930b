"""Seed 000's envelope (Flask): `{"error": ...}` under `/session` and `/crypto`."""

from __future__ import annotations

from tickhub.compat._envelopes import SeedEnvelope, flask_body

ENVELOPE = SeedEnvelope(roots=("/session", "/crypto"), body=flask_body)
