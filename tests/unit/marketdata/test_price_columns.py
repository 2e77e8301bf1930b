"""Seed 004's price pages as columns: built from rows exactly, and put in (time, trade
id) order when a page came back otherwise."""

from __future__ import annotations

import random

from tickhub.marketdata.store.repository import PriceColumns


def test_rows_become_columns_exactly() -> None:
    rows = [(2**63 - 1, -(2**63), 5e-324), (1, 1_774_656_000_000_000, 0.1 + 0.2)]
    cols = PriceColumns.of_rows(rows)
    got = list(zip(cols.ids.tolist(), cols.times.tolist(), cols.prices.tolist(), strict=True))
    assert got == rows and len(PriceColumns.of_rows([])) == 0


def test_in_order_keeps_an_ordered_page_and_sorts_any_other() -> None:
    rows = [(i, 1_000 + i // 3, float(i)) for i in range(30)]  # runs of equal times
    ordered = PriceColumns.of_rows(rows)
    assert ordered.in_order() is ordered
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    fixed = PriceColumns.of_rows(shuffled).in_order()
    got = list(zip(fixed.ids.tolist(), fixed.times.tolist(), fixed.prices.tolist(), strict=True))
    assert got == rows
