"""What every settings class shares: the `.env` file, and the parsers of list values."""

from __future__ import annotations

ENV_FILE = ".env"


def split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def symbol_entry(entry: str) -> str:
    venue, sep, symbol = entry.strip().partition(":")
    if not sep:
        return entry.strip().upper().replace("-", "").replace("/", "")
    if venue.lower() == "ccxt":  # ccxt:<exchange id>:<unified symbol, may hold ':'>
        exchange, _, symbol = symbol.partition(":")
        venue = f"ccxt:{exchange}"
    return f"{venue.lower()}:{symbol.strip()}"
