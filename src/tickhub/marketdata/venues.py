"""What each venue is and what it can promise: name, country, capabilities, completeness;
and one asset across venues (normalised base, quote groups). Pure, but for a lazy look at
ccxt's exchange classes (no I/O: their descriptions are class data)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal

Completeness = Literal["ids", "time", "simulated", "unknown"]

COMPLETENESS_NOTES: Final[dict[str, str]] = {
    "ids": "The venue's trade ids are consecutive: a missing id is a missing trade, found "
    "and backfilled over REST; the coverage ranges and gaps are exact.",
    "time": "The venue gives no consecutive trade ids: trades are taken by time from the "
    "last one stored, so completeness cannot be known and is not claimed; the ranges show "
    "what was stored, not that nothing is missing.",
    "simulated": "A simulated market: its prices are not real.",
    "unknown": "Trades came from a file import or an unknown source; no completeness is "
    "claimed beyond the stored ids.",
}


@dataclass(frozen=True, slots=True)
class VenueInfo:
    name: str  # as stored (`binance`, `coinbase`, `kraken`)
    title: str  # the venue's own name
    country: str | None
    trade_ids: bool  # consecutive trade ids, so gaps are known
    backfill: bool  # missing trades can be fetched over REST
    transport: Literal["websocket", "polling", "simulated", "import"]
    completeness: Completeness

    @property
    def note(self) -> str:
        return COMPLETENESS_NOTES[self.completeness]


_NATIVE: Final = {
    "binance": VenueInfo("binance", "Binance", "Malta", True, True, "websocket", "ids"),
    "coinbase": VenueInfo(
        "coinbase", "Coinbase Exchange", "United States", True, True, "websocket", "ids"
    ),
    "sim": VenueInfo("sim", "Simulated market", None, True, False, "simulated", "simulated"),
}

_COUNTRIES: Final[dict[str, str]] = {
    "AE": "United Arab Emirates",
    "AR": "Argentina",
    "AT": "Austria",
    "AU": "Australia",
    "BG": "Bulgaria",
    "BR": "Brazil",
    "BS": "Bahamas",
    "BZ": "Belize",
    "CA": "Canada",
    "CH": "Switzerland",
    "CL": "Chile",
    "CN": "China",
    "CO": "Colombia",
    "CY": "Cyprus",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "EU": "European Union",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GI": "Gibraltar",
    "HK": "Hong Kong",
    "ID": "Indonesia",
    "IE": "Ireland",
    "IL": "Israel",
    "IN": "India",
    "IT": "Italy",
    "JP": "Japan",
    "KE": "Kenya",
    "KR": "South Korea",
    "KY": "Cayman Islands",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "MT": "Malta",
    "MX": "Mexico",
    "MY": "Malaysia",
    "NG": "Nigeria",
    "NL": "Netherlands",
    "NO": "Norway",
    "PA": "Panama",
    "PE": "Peru",
    "PH": "Philippines",
    "PL": "Poland",
    "RO": "Romania",
    "RU": "Russia",
    "SC": "Seychelles",
    "SE": "Sweden",
    "SG": "Singapore",
    "TH": "Thailand",
    "TR": "Turkey",
    "TW": "Taiwan",
    "UA": "Ukraine",
    "US": "United States",
    "VC": "Saint Vincent and the Grenadines",
    "VG": "British Virgin Islands",
    "VN": "Vietnam",
    "ZA": "South Africa",
}


def describe(name: str, stored_country: str | None = None) -> VenueInfo:
    """A venue by its stored name: native ones from the catalogue, others from ccxt."""
    known = _NATIVE.get(name) or _ccxt_venue(name)
    if known is not None:
        return known
    return VenueInfo(name, name, stored_country, False, False, "import", "unknown")


@lru_cache(maxsize=256)
def _ccxt_venue(name: str) -> VenueInfo | None:
    ccxt: Any = importlib.import_module("ccxt")
    if name not in ccxt.exchanges:
        return None
    exchange = getattr(ccxt, name)()  # class data only: no I/O
    countries = [str(c) for c in (exchange.countries or [])]
    country = _COUNTRIES.get(countries[0], countries[0]) if countries else None
    pro: Any = importlib.import_module("ccxt.pro")
    watch = name in pro.exchanges and bool(getattr(pro, name)().has.get("watchTrades"))
    transport: Literal["websocket", "polling"] = "websocket" if watch else "polling"
    return VenueInfo(name, str(exchange.name), country, False, True, transport, "time")


# -- one asset across venues ------------------------------------------------------------

_ASSET_ALIASES: Final = {"XBT": "BTC", "XDG": "DOGE", "BCC": "BCH"}
USD_LIKE: Final = frozenset(
    {"USD", "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "PYUSD", "USDE", "USDS"}
)
EUR_LIKE: Final = frozenset({"EUR", "EURC", "EURI", "AEUR"})


def normal_asset(asset: str) -> str:
    """The common spelling of an asset across venues (`XBT` -> `BTC`)."""
    upper = asset.strip().upper()
    return _ASSET_ALIASES.get(upper, upper)


def quote_group(quote: str) -> str:
    """USD stablecoins group under `USD` (and euro ones under `EUR`), kept distinct as quotes."""
    q = normal_asset(quote)
    if q in USD_LIKE:
        return "USD"
    if q in EUR_LIKE:
        return "EUR"
    return q


def quote_matches(wanted: str, quote: str) -> bool:
    """`USD` (a group) matches USD and its stablecoins; a specific coin matches itself."""
    w, q = normal_asset(wanted), normal_asset(quote)
    return q == w or (w in ("USD", "EUR") and quote_group(q) == w)
