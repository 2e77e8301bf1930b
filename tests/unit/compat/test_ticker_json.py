"""Seed 004's price items built from columns are byte for byte what orjson writes for
the same dicts (the shape the streamed statistics answer had before)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import numpy as np
import orjson
import pytest

from tickhub.compat import _ticker_json
from tickhub.compat._ticker_json import plain_price_items, price_items, price_pieces

US = 1_000_000
T = 1_711_843_200 * US  # 2024-03-31T00:00:00


def _dicts(symbol: str, ids: list[int], times: list[int], prices: list[float]) -> bytes:
    texts = [datetime.fromtimestamp(t // US, UTC).replace(tzinfo=None).isoformat() for t in times]
    return orjson.dumps(
        [
            {"id": i, "datetime": t, "symbol": symbol, "price": p}
            for i, t, p in zip(ids, texts, prices, strict=True)
        ]
    )[1:-1]


AWKWARD = [
    0.00000001, 1e-8, 1.5e-7, 70000.5, 70000.0, 1.0, 0.0, -0.0, 3.0, 123456789012.0, 1e16,
    1.7976931348623157e308, 5e-324, 0.1 + 0.2, 1 / 3, 69999.99999999999, 12345.678901234567,
    2.5e-5, 100.0, 42.42,
]  # fmt: skip


def test_awkward_prices_are_written_as_orjson_writes_them() -> None:
    ids = [1, 2**53 + 1, 9_999_999_999, 0, *range(5, 5 + len(AWKWARD) - 4)]
    times = [T + i * 777_777 for i in range(len(AWKWARD))]
    assert price_items("BTCUSDT", ids, times, AWKWARD) == _dicts("BTCUSDT", ids, times, AWKWARD)


def test_random_prices_times_and_a_symbol_to_escape() -> None:
    rnd = random.Random(7)
    n = 5_000
    ids = sorted(rnd.sample(range(10**12), n))
    times = sorted(T + rnd.randrange(400 * 86_400 * US) for _ in range(n))
    prices = [round(rnd.uniform(0, 10 ** rnd.randrange(-8, 9)), rnd.randrange(0, 12)) for _ in ids]
    for symbol in ("ETHUSDT", 'A"B\\C/é%s'):
        assert price_items(symbol, ids, times, prices) == _dicts(symbol, ids, times, prices)


def test_no_prices_is_no_text() -> None:
    assert price_items("BTCUSDT", [], [], []) == b""


def test_times_across_years_days_and_the_epoch_match_the_item_by_item_text() -> None:
    rnd = random.Random(11)
    edges = [
        0, -1, -US, 86_400 * US - 1, 86_400 * US, T - 1, T, 951_782_400 * US,  # 2000-02-29
        253_402_300_799 * US,  # 9999-12-31T23:59:59
        -30_610_224_000 * US,  # 1000-01-01
        -30_610_224_001 * US,  # 0999-12-31T23:59:59: a year before 1000
    ]  # fmt: skip
    times = edges + [rnd.randrange(-(10**17), 2 * 10**17) for _ in range(2_000)]
    ids = list(range(len(times)))
    prices = [rnd.uniform(0, 1e5) for _ in times]
    expected = plain_price_items("BTCUSDT", ids, times, prices)
    assert price_items("BTCUSDT", ids, times, prices) == expected
    ordinary = [t for t in times if 0 <= t < 4_102_444_800 * US]  # 1970 to 2100
    assert price_items("X", ids[: len(ordinary)], ordinary, prices[: len(ordinary)]) == _dicts(
        "X", ids[: len(ordinary)], ordinary, prices[: len(ordinary)]
    )


def test_numpy_columns_give_the_same_text_as_lists() -> None:
    ids, times, prices = [3, 1, 2], [T, T + US, T + 2 * US], [0.1 + 0.2, 1e-8, 70000.0]
    assert price_items("BTCUSDT", np.array(ids), np.array(times), np.array(prices)) == _dicts(
        "BTCUSDT", ids, times, prices
    )


def test_ids_of_one_width_written_into_the_rows_match_orjson() -> None:
    rnd = random.Random(3)
    for lo, hi in ((0, 9), (10**9, 10**10 - 1), (10**18, 2**63 - 1), (7, 7)):
        ids = sorted(rnd.randint(lo, hi) for _ in range(1_000))
        times = [T + i * 1_234_567 for i in range(len(ids))]
        prices = [rnd.uniform(0, 1e5) for _ in ids]
        for columns in (ids, np.array(ids, dtype=np.int64)):
            assert price_items("BTCUSDT", columns, times, prices) == _dicts(
                "BTCUSDT", ids, times, prices
            )
    one = price_items("ETHUSDT", [5], [T], [1.5])
    assert one == b'{"id":5,"datetime":"2024-03-31T00:00:00","symbol":"ETHUSDT","price":1.5}'


def test_ids_of_one_width_with_a_year_before_1000_take_the_plain_path() -> None:
    ids, times, prices = [11, 12], [-30_610_224_001 * US, T], [1.0, 2.0]
    assert price_items("X", ids, times, prices) == plain_price_items("X", ids, times, prices)


@pytest.mark.parametrize("chunk", [10_000, 7, 1])
def test_pieces_cut_anywhere_are_the_slices_of_the_whole_list(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ticker_json, "CHUNK", chunk)  # encoded that many items at a time
    rnd = random.Random(5)
    one_width = sorted(rnd.sample(range(10**9, 10**10), 300))
    mixed = sorted(rnd.sample(range(1, 10**6), 300))
    times = [T + i * 987_654 for i in range(300)]
    early = [-30_610_224_001 * US, *times[1:]]  # a year before 1000: the plain path
    prices = [rnd.uniform(0, 1e5) for _ in times]
    for ids, at in ((one_width, times), (mixed, times), (one_width, early)):
        items = orjson.loads(b"[" + price_items("BTCUSDT", ids, at, prices) + b"]")
        for cuts in ([], [0], [300], [0, 0, 1], [1, 150, 150, 299], [17, 18, 300]):
            pieces = price_pieces("BTCUSDT", ids, at, prices, cuts)
            bounds = [0, *cuts, 300]
            assert len(pieces) == len(cuts) + 1
            for piece, (a, b) in zip(pieces, itertools.pairwise(bounds), strict=True):
                assert piece == orjson.dumps(items[a:b])[1:-1]
    assert price_pieces("BTCUSDT", [], [], [], [0]) == [b"", b""]
