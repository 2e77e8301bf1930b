"""Training data set use cases: create or replace, list, get, stream rows, delete.

Each use case is one unit of work (`DatasetsUow`). A data set is materialised from the
candles service inside the transaction that stores it, so a failure leaves the previous
version (or nothing) in place: never half a data set.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from tickhub.common.time import format_time, from_us
from tickhub.marketdata import service as md
from tickhub.sessions.datasets._definition import (
    DatasetConflict,
    DatasetInvalid,
    DatasetNotFound,
    Definition,
    parse_definition,
)
from tickhub.sessions.datasets._features import Series, compute
from tickhub.sessions.datasets._formats import INTEGER_COLUMNS, Row, content_hash
from tickhub.sessions.datasets._repository import DatasetRecord
from tickhub.sessions.datasets._uow import DatasetsStore, DatasetsUowFactory, MarketReads

MAX_ROWS = 500_000
PAGE = 5_000


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    id: int
    label: str
    owner_id: str
    api_key_id: str | None
    definition: dict[str, Any]
    columns: list[str]
    rows: int
    start: int
    end: int
    first: int | None
    last: int | None
    hash: str
    created: datetime

    def describe(self) -> dict[str, Any]:
        """The metadata the API shows."""
        return {
            "label": self.label,
            "owner": self.owner_id,
            "definition": self.definition,
            "columns": self.columns,
            "rows": self.rows,
            "start": format_time(from_us(self.start)),
            "end": format_time(from_us(self.end)),
            "first": None if self.first is None else format_time(from_us(self.first)),
            "last": None if self.last is None else format_time(from_us(self.last)),
            "created": format_time(self.created),
            "hash": self.hash,
        }


def _info(row: DatasetRecord) -> DatasetInfo:
    return DatasetInfo(
        id=row.id,
        label=row.label,
        owner_id=row.owner_id,
        api_key_id=row.api_key_id,
        definition=row.definition,
        columns=list(row.columns),
        rows=row.row_count,
        start=row.start_us,
        end=row.end_us,
        first=row.first_us,
        last=row.last_us,
        hash=row.content_hash,
        created=row.created_at,
    )


def _python(column: np.ndarray[Any, Any], integer: bool) -> list[Any]:
    values: list[Any] = column.tolist()
    if integer:
        return [None if math.isnan(v) else int(v) for v in values]
    return [None if math.isnan(v) else v for v in values]


async def materialise(market: MarketReads, d: Definition) -> tuple[dict[str, Any], list[Row]]:
    """The rows of a definition over the stored candles, ordered by time then by the
    instruments' order in the definition; and the definition in canonical form."""
    interval = md.interval_or_error(d.interval)
    tz = md.parse_tz(d.tz)
    columns = d.columns
    integer = [c in INTEGER_COLUMNS for c in columns[2:]]
    names: list[str] = []
    keyed: list[tuple[int, int, Row]] = []
    for i, ref in enumerate(d.instruments):
        field = f"instruments[{i}]"
        try:
            inst = await market.find_instrument(ref.symbol, ref.exchange)
        except md.MarketDataError as exc:
            raise DatasetInvalid(exc.message, field=field) from exc
        name = f"{inst.exchange}:{inst.symbol}"
        if name in names:
            raise DatasetInvalid(f"{field}: {name} is listed twice", field=field)
        names.append(name)
        try:
            candles = await market.candles(inst, interval, d.start, d.end, tz)
        except md.MarketDataError as exc:
            raise DatasetInvalid(exc.message, field=exc.field) from exc
        if len(keyed) + len(candles) > MAX_ROWS:
            raise DatasetInvalid(f"more than {MAX_ROWS} rows: narrow start/end", field="end")
        series = Series.of(
            [
                (
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.quote_volume,
                    c.trade_count,
                    math.nan if c.vwap is None else c.vwap,
                )
                for c in candles
            ]
        )
        values = [
            _python(col, is_int)
            for col, is_int in zip(compute(d.features, series), integer, strict=True)
        ]
        for j, c in enumerate(candles):
            keyed.append((c.start, i, (c.start, name, [col[j] for col in values])))
    keyed.sort(key=lambda k: (k[0], k[1]))
    definition: dict[str, Any] = {
        "instruments": names,
        "interval": interval.text,
        "start": format_time(from_us(d.start)),
        "end": format_time(from_us(d.end)),
        "features": [f.text for f in d.features],
    }
    if d.tz:
        definition["tz"] = d.tz
    return definition, [k[2] for k in keyed]


async def save(
    uow: DatasetsUowFactory,
    *,
    owner_id: str,
    api_key_id: str | None,
    label: str | None,
    body: object,
    now: datetime,
) -> tuple[DatasetInfo, bool]:
    """Create the data set, or replace the owner's one of the same label. Returns it and
    whether it is new."""
    d = parse_definition(body, label)
    async with uow() as tx:
        definition, rows = await materialise(tx.market, d)
        repo = tx.datasets
        old = await repo.find(d.label, owner_id)
        for r in old:
            await repo.delete(r.id)
        values = {
            "owner_id": owner_id,
            "api_key_id": api_key_id,
            "label": d.label,
            "definition": definition,
            "columns": d.columns,
            "row_count": len(rows),
            "start_us": d.start,
            "end_us": d.end,
            "first_us": rows[0][0] if rows else None,
            "last_us": rows[-1][0] if rows else None,
            "content_hash": content_hash(d.columns, rows),
            "created_at": now,
        }
        new_id = await repo.add(values)
        if new_id is None:
            raise DatasetConflict(
                f"data set {d.label!r} is being written by another request: retry", field="label"
            )
        await repo.add_rows(new_id, rows)
        info = _info(next(r for r in await repo.find(d.label, owner_id) if r.id == new_id))
        await tx.commit()
    return info, not old


async def datasets(uow: DatasetsUowFactory, *, owner_id: str | None) -> list[DatasetInfo]:
    """The owner's data sets (everyone's when `owner_id` is None), by label."""
    async with uow() as tx:
        return [_info(r) for r in await tx.datasets.all(owner_id)]


async def _one(
    repo: DatasetsStore, label: str, *, owner_id: str | None, caller_id: str
) -> DatasetInfo:
    """`owner_id` None (an admin without `?owner=`): the caller's own data set of that
    label if any, else the only one of that label."""
    found = await repo.find(label, owner_id)
    if owner_id is None and len(found) > 1:
        own = [r for r in found if r.owner_id == caller_id]
        if not own:
            raise DatasetConflict(
                f"several users have a data set {label!r}: pass ?owner=<user id>", field="owner"
            )
        found = own
    if not found:
        raise DatasetNotFound(f"no training data set labelled {label!r}", field="data_label")
    return _info(found[0])


async def dataset(
    uow: DatasetsUowFactory, label: str, *, owner_id: str | None, caller_id: str
) -> DatasetInfo:
    async with uow() as tx:
        return await _one(tx.datasets, label, owner_id=owner_id, caller_id=caller_id)


async def delete(
    uow: DatasetsUowFactory, label: str, *, owner_id: str | None, caller_id: str
) -> None:
    async with uow() as tx:
        info = await _one(tx.datasets, label, owner_id=owner_id, caller_id=caller_id)
        await tx.datasets.delete(info.id)
        await tx.commit()


async def rows(
    uow: DatasetsUowFactory, info: DatasetInfo, page: int = PAGE
) -> AsyncIterator[list[Row]]:
    """The data set's rows in order, a page at a time, read in one snapshot."""
    async with uow() as tx:
        async for part in tx.datasets.stream_rows(info.id, page):
            yield part
