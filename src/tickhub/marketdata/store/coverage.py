"""Which venue trade ids have been processed: ranges of consecutive ids, and the gaps
between them. Pure: no I/O.

A trade whose id lies in a covered range has been seen before, so it changes nothing;
this is what keeps candles exact under replays even when trades are sampled.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from tickhub.marketdata.events import Trade


@dataclass(frozen=True, slots=True)
class Range:
    first_id: int
    last_id: int
    first_ts: int
    last_ts: int


@dataclass(frozen=True, slots=True)
class Gap:
    """Ids first_id..last_id are missing, between the trades at after_ts and before_ts."""

    first_id: int
    last_id: int
    after_ts: int
    before_ts: int

    @property
    def missing(self) -> int:
        return self.last_id - self.first_id + 1


def unseen(trades: Sequence[Trade], ranges: Sequence[Range]) -> list[Trade]:
    """Trades not covered by `ranges` (sorted by first id), first occurrence of each id,
    in id order."""
    by_id: dict[int, Trade] = {}
    for t in trades:
        by_id.setdefault(t.trade_id, t)
    ids = sorted(by_id)
    if ranges:
        starts = [r.first_id for r in ranges]
        ends = [r.last_id for r in ranges]
        kept: list[int] = []
        for tid in ids:
            i = bisect_right(starts, tid) - 1
            if i < 0 or ends[i] < tid:
                kept.append(tid)
        ids = kept
    return [by_id[i] for i in ids]


def merge(ranges: Sequence[Range], new: Sequence[Trade]) -> list[Range]:
    """Ranges plus the ids of `new` (sorted by id, none covered), merged where they touch."""
    runs: list[Range] = []
    n = len(new)
    i = 0
    while i < n:
        j = i
        lo_ts = hi_ts = new[i].ts
        while j + 1 < n and new[j + 1].trade_id == new[j].trade_id + 1:
            j += 1
            ts = new[j].ts
            if ts < lo_ts:
                lo_ts = ts
            elif ts > hi_ts:
                hi_ts = ts
        runs.append(Range(new[i].trade_id, new[j].trade_id, lo_ts, hi_ts))
        i = j + 1
    out: list[Range] = []
    for r in sorted([*ranges, *runs], key=lambda r: r.first_id):
        if out and out[-1].last_id + 1 >= r.first_id:
            p = out[-1]
            out[-1] = Range(
                p.first_id,
                max(p.last_id, r.last_id),
                min(p.first_ts, r.first_ts),
                max(p.last_ts, r.last_ts),
            )
        else:
            out.append(r)
    return out


def gaps(ranges: Sequence[Range]) -> list[Gap]:
    return [
        Gap(a.last_id + 1, b.first_id - 1, a.last_ts, b.first_ts)
        for a, b in pairwise(ranges)
        if b.first_id > a.last_id + 1
    ]
