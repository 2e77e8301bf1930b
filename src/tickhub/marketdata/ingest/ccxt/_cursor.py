"""From ccxt's unified trades to tickhub's, and where the next poll starts. Pure.

A venue whose trade ids are integers is followed by id: a trade is new when its id is
past the last one stored, and it is stored under that id. A venue without integer ids
is followed by time: tickhub numbers its trades itself, one after the other, and a
trade is new when it is later than the last one taken, or in the same millisecond and
not seen in it (by the venue's id string, else by its content). After a restart such a
venue resumes after the last stored millisecond: trades that shared it are not fetched
again (stated in /v1/coverage: completeness by time is not claimed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.engine import FrameError


@dataclass
class Cursor:
    """Where one symbol's feed stands: by venue id, or by time with own numbering."""

    by_id: bool | None = None  # None until the first trade shows which
    last_id: int | None = None  # the last stored trade id (the venue's or our own)
    last_ms: int | None = None  # the last trade's time, in ms (the next `since`)
    skipped: int = 0  # by id: ids jumped over (the venue's ids may not be consecutive)
    _seen_in_last_ms: set[str] = field(default_factory=set)

    @property
    def since_ms(self) -> int | None:
        return self.last_ms

    @staticmethod
    def check(item: Mapping[str, object]) -> None:
        """Raises FrameError when `item` is not a usable trade."""
        _unified(item)

    def take(self, raw: Sequence[Mapping[str, object]]) -> list[Trade]:
        """The new trades of a page (ccxt's unified trade dicts), in order, numbered."""
        parsed = sorted((_unified(item) for item in raw), key=lambda p: (p[0], p[1] or ""))
        out: list[Trade] = []
        occurrences: dict[tuple[int, str], int] = {}
        for ms, venue_id, content, trade in parsed:
            n = occurrences[ms, content] = occurrences.get((ms, content), -1) + 1
            key = f"{content}#{n}"  # identical trades in one millisecond stay distinct
            if self.by_id is None:
                self.by_id = venue_id is not None and venue_id.isdigit()
            if self.by_id:
                if venue_id is None or not venue_id.isdigit():
                    raise FrameError(f"trade id {venue_id!r} is not an integer like the others")
                number = int(venue_id)
                if self.last_id is not None and number <= self.last_id:
                    continue
                if self.last_id is not None and number > self.last_id + 1:
                    self.skipped += number - self.last_id - 1
            else:
                if self.last_ms is not None and (
                    ms < self.last_ms or (ms == self.last_ms and key in self._seen_in_last_ms)
                ):
                    continue
                number = (self.last_id or 0) + 1
            if ms != self.last_ms:
                self._seen_in_last_ms = set()
            self._seen_in_last_ms.add(key)
            self.last_id, self.last_ms = number, max(ms, self.last_ms or ms)
            out.append(Trade(number, trade.ts, trade.price, trade.qty, trade.is_buyer_maker))
        return out


def _unified(item: Mapping[str, object]) -> tuple[int, str | None, str, Trade]:
    """(time in ms, the venue's id, a key within the millisecond, the trade)."""
    ms = item.get("timestamp")
    if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
        raise FrameError(f"trade 'timestamp' missing or not ms: {ms!r}")
    price, amount = item.get("price"), item.get("amount")
    for name, value in (("price", price), ("amount", amount)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise FrameError(f"trade {name!r} missing or not positive: {value!r}")
    assert isinstance(price, int | float) and isinstance(amount, int | float)
    side = item.get("side")
    if side not in ("buy", "sell", None):
        raise FrameError(f"trade 'side' not buy/sell: {side!r}")
    raw_id = item.get("id")
    venue_id = str(raw_id) if isinstance(raw_id, str | int) and str(raw_id) else None
    key = venue_id or f"{price!r}/{amount!r}/{side}"
    # ccxt's unified `side` is the taker's: a taker buy means the seller was the maker
    maker_buyer = None if side is None else side == "sell"
    return ms, venue_id, key, Trade(0, ms * 1000, float(price), float(amount), maker_buyer)
