"""What a venue declares to the engine: URLs, messages, parsing, REST calls, instruments."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.engine._frames import Gap, Parsed
from tickhub.marketdata.ingest.engine._rest import BanListener, RestClient


class ConnectorSettings(Protocol):
    """The settings every streaming venue has (`TICKHUB_<VENUE>_*`)."""

    @property
    def ws_url(self) -> str: ...
    @property
    def rest_url(self) -> str: ...
    @property
    def reconnect_after_s(self) -> float: ...
    @property
    def backoff_initial_s(self) -> float: ...
    @property
    def backoff_max_s(self) -> float: ...
    @property
    def max_backfill_trades(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Instruments:
    """The venue's answer about the configured symbols.

    `pairs`: (base, quote) of each known symbol; `unknown`: configured symbols the venue
    does not list, each with its near matches from the venue's listing.
    """

    pairs: dict[str, tuple[str, str]]
    unknown: dict[str, list[str]] = field(default_factory=dict)


class Venue(Protocol):
    """A venue's declaration: everything the engine cannot know by itself.

    Symbols are in the venue's own spelling (`BTCUSDT`, `BTC-USD`); `stored_symbol`
    gives the spelling trades are stored under (compact: `BTCUSD`).
    """

    name: str  # the source's name (TICKHUB_SOURCES)
    exchange: str  # the exchange trades are stored under
    backfill_direction: Literal["forward", "backward"]  # which end a REST page starts from
    backfill_page_limit: int

    def normalize_symbol(self, symbol: str) -> str: ...

    def stored_symbol(self, symbol: str) -> str: ...

    def fallback_pair(self, symbol: str) -> tuple[str, str] | None:
        """(base, quote) from the symbol's spelling, when the venue cannot be asked."""
        ...

    def stream_url(self, symbols: Sequence[str]) -> str: ...

    def subscribe_messages(self, symbols: Sequence[str]) -> list[str]:
        """Sent right after connecting (empty when the URL subscribes)."""
        ...

    def parse_frame(self, raw: str | bytes) -> Parsed:
        """Raises FrameError when the message is malformed."""
        ...

    def parse_rest_trade(self, item: object) -> Trade: ...

    def make_rest(
        self, client: httpx.AsyncClient, on_ban: BanListener, rng: random.Random
    ) -> RestClient: ...

    async def instruments(self, rest: RestClient, symbols: Sequence[str]) -> Instruments:
        """Base and quote of `symbols`; raises RestError when the venue cannot say."""
        ...

    async def backfill_page(self, rest: RestClient, gap: Gap, limit: int) -> list[object]:
        """One REST page of raw trade items inside `gap`, from the end `backfill_direction`
        names (forward: from `gap.first_id`; backward: up to `gap.last_id`)."""
        ...
