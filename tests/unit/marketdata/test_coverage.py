from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tickhub.marketdata.events import Trade
from tickhub.marketdata.store import coverage


def trade(i: int) -> Trade:
    return Trade(i, i * 1000, 1.0, 1.0)


def runs(ids: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in sorted(ids):
        if out and out[-1][1] + 1 == i:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


@given(st.lists(st.lists(st.integers(0, 300), max_size=40), max_size=20))
@settings(max_examples=300, deadline=None)
def test_batches_in_any_order_cover_exactly_their_union(batches: list[list[int]]) -> None:
    ranges: list[coverage.Range] = []
    seen: set[int] = set()
    for batch in batches:
        new = coverage.unseen([trade(i) for i in batch], ranges)
        assert {t.trade_id for t in new} == set(batch) - seen  # only the unseen, once each
        assert len(new) == len({t.trade_id for t in new})
        ranges = coverage.merge(ranges, new)
        seen |= set(batch)
    assert [(r.first_id, r.last_id) for r in ranges] == runs(seen)
    gaps = coverage.gaps(ranges)
    assert sum(g.missing for g in gaps) == ((max(seen) - min(seen) + 1 - len(seen)) if seen else 0)


def test_gap_reports_missing_ids_and_times() -> None:
    ranges = coverage.merge([], [trade(i) for i in (1, 2, 3, 7, 8)])
    (gap,) = coverage.gaps(ranges)
    assert (gap.first_id, gap.last_id, gap.missing) == (4, 6, 3)
    assert (gap.after_ts, gap.before_ts) == (3000, 7000)
