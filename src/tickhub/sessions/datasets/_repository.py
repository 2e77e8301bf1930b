"""Queries on training data sets. Takes an open connection; never commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.sessions.datasets._models import TrainingDataset, TrainingDatasetRow

datasets_t = cast(Table, TrainingDataset.__table__)
rows_t = cast(Table, TrainingDatasetRow.__table__)
INSERT_CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """A stored data set's row in `training_datasets`."""

    id: int
    owner_id: str
    api_key_id: str | None
    label: str
    definition: dict[str, Any]
    columns: list[str]
    row_count: int
    start_us: int
    end_us: int
    first_us: int | None
    last_us: int | None
    content_hash: str
    created_at: datetime


def _record(row: Row[Any]) -> DatasetRecord:
    return DatasetRecord(**{k: row._mapping[k] for k in DatasetRecord.__slots__})


class DatasetRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find(self, label: str, owner_id: str | None) -> list[DatasetRecord]:
        """Data sets with this label: the owner's, or everyone's when `owner_id` is None."""
        q = select(datasets_t).where(datasets_t.c.label == label)
        if owner_id is not None:
            q = q.where(datasets_t.c.owner_id == owner_id)
        return [_record(r) for r in await self.conn.execute(q.order_by(datasets_t.c.id))]

    async def all(self, owner_id: str | None) -> list[DatasetRecord]:
        q = select(datasets_t).order_by(datasets_t.c.label, datasets_t.c.id)
        if owner_id is not None:
            q = q.where(datasets_t.c.owner_id == owner_id)
        return [_record(r) for r in await self.conn.execute(q)]

    async def delete(self, dataset_id: int) -> None:
        await self.conn.execute(delete(rows_t).where(rows_t.c.dataset_id == dataset_id))
        await self.conn.execute(delete(datasets_t).where(datasets_t.c.id == dataset_id))

    async def add(self, values: dict[str, Any]) -> int | None:
        """The new data set's id; None when the (owner, label) pair was taken meanwhile (the
        transaction is then unusable: the caller gives up)."""
        try:
            result = await self.conn.execute(insert(datasets_t).values(**values))
        except IntegrityError:
            return None
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    async def add_rows(self, dataset_id: int, rows: Sequence[tuple[int, str, list[Any]]]) -> None:
        for lo in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[lo : lo + INSERT_CHUNK]
            await self.conn.execute(
                insert(rows_t),
                [
                    {
                        "dataset_id": dataset_id,
                        "row_no": lo + i,
                        "time_us": t,
                        "instrument": inst,
                        "values": values,
                    }
                    for i, (t, inst, values) in enumerate(chunk)
                ],
            )

    async def stream_rows(
        self, dataset_id: int, page: int
    ) -> AsyncIterator[list[tuple[int, str, list[Any]]]]:
        """The rows in order, `page` at a time, from one statement (one snapshot)."""
        q = (
            select(rows_t.c.time_us, rows_t.c.instrument, rows_t.c["values"])
            .where(rows_t.c.dataset_id == dataset_id)
            .order_by(rows_t.c.row_no)
            .execution_options(yield_per=page)
        )
        result = await self.conn.stream(q)
        async for part in result.partitions(page):
            yield [(int(r[0]), str(r[1]), list(r[2])) for r in part]
