"""Symbol spelling and names. Pure: no I/O."""

from __future__ import annotations

# Quote assets for splitting a symbol when the venue cannot be asked; longest first, so
# FDUSD wins over USD and USDT over USD.
_QUOTES = (
    "USDT USDC FDUSD BUSD TUSD USDP USD DAI BTC ETH BNB XRP TRX DOGE EUR EURI AEUR GBP TRY "
    "BRL ARS AUD JPY RUB UAH ZAR IDR BIDR NGN PLN RON MXN COP CZK"
)
QUOTE_ASSETS: tuple[str, ...] = tuple(sorted(_QUOTES.split(), key=lambda q: (-len(q), q)))

COIN_NAMES: dict[str, str] = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "BNB": "bnb",
    "SOL": "solana",
    "XRP": "xrp",
    "ADA": "cardano",
    "DOGE": "dogecoin",
    "DOT": "polkadot",
    "LTC": "litecoin",
    "TRX": "tron",
    "AVAX": "avalanche",
    "LINK": "chainlink",
    "USDT": "tether",
    "USDC": "usd-coin",
    "FDUSD": "first-digital-usd",
    "DAI": "dai",
    "EUR": "euro",
    "USD": "us-dollar",
}


def split_symbol(symbol: str) -> tuple[str, str]:
    """`BTCUSDT` → (`BTC`, `USDT`); also accepts `BTC-USDT`, `BTC/USDT`, `btc_usdt`."""
    s = symbol.strip().upper()
    for sep in ("-", "/", "_"):
        if sep in s:
            base, _, quote = s.partition(sep)
            return base, quote
    for quote in QUOTE_ASSETS:
        if s.endswith(quote) and len(s) > len(quote):
            return s[: -len(quote)], quote
    return s, ""


def compact_symbol(symbol: str) -> str:
    """The exchange-style spelling: `BTC-USDT` → `BTCUSDT`."""
    return "".join(ch for ch in symbol.strip().upper() if ch.isalnum())


def coin_name(asset: str) -> str:
    return COIN_NAMES.get(asset.upper(), asset.lower())
