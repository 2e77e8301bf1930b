"""PostgreSQL's binary COPY of seed 004's prices read into columns: the values bit for
bit, a header extension skipped, anything but three 8-byte fields per row refused."""

from __future__ import annotations

import struct

import pytest

from tickhub.marketdata.store.repository._driver import copy_columns

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def row(*fields: bytes | None) -> bytes:
    out = struct.pack(">h", len(fields))
    for f in fields:
        out += struct.pack(">i", -1) if f is None else struct.pack(">i", len(f)) + f
    return out


def copy(*rows: bytes, extension: bytes = b"") -> bytes:
    head = SIGNATURE + struct.pack(">ii", 0, len(extension)) + extension
    return head + b"".join(rows) + struct.pack(">h", -1)


def price(trade_id: int, ts: int, value: float) -> bytes:
    return row(struct.pack(">q", trade_id), struct.pack(">q", ts), struct.pack(">d", value))


def test_columns_bit_for_bit() -> None:
    values = [(2**63 - 1, -(2**63), 5e-324), (1, 1_774_656_000_000_000, 0.1 + 0.2)]
    got = copy_columns(copy(*(price(*v) for v in values), extension=b"\x01\x02\x03"))
    assert got.ids.tolist() == [v[0] for v in values]
    assert got.times.tolist() == [v[1] for v in values]
    assert [struct.pack(">d", p) for p in got.prices.tolist()] == [
        struct.pack(">d", v[2]) for v in values
    ]


def test_no_rows() -> None:
    assert len(copy_columns(copy())) == 0


@pytest.mark.parametrize(
    "data",
    [
        b"not a copy",
        copy(price(1, 2, 3.0))[:-2],  # no trailer
        copy(row(struct.pack(">q", 1), struct.pack(">q", 2), None)),  # a NULL price
        copy(row(struct.pack(">i", 1), struct.pack(">q", 2), struct.pack(">d", 3.0))),  # int4
        copy(price(1, 2, 3.0) + b"\x00"),  # a stray byte
    ],
)
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="COPY"):
        copy_columns(data)
