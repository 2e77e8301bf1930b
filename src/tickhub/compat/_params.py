"""Parameter parsing shared by the seed contracts."""

from __future__ import annotations

import re

_INT = re.compile(r"[-+]?[0-9]{1,18}")


def int_or_none(raw: str) -> int | None:
    """A whole number written plainly (no exponent, at most 18 digits), else None."""
    text = raw.strip()
    return int(text) if _INT.fullmatch(text) else None
