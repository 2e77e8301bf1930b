"""Training data set tables: one row per data set, and its materialised rows.

Rows are kept one per table row, keyed by (data set, row number), with the feature values
as a JSON array in the order of `columns`. Reading them back is one ordered range scan of
the primary key, which a server-side cursor streams in pages: JSON, CSV and Parquet are
all produced a page at a time, so memory stays flat however large the set is, on both
SQLite and PostgreSQL. (A Parquet blob in one column would have to be fetched whole, and
decoded whole for JSON and CSV.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickhub.db import Base, UtcDateTime

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class TrainingDataset(Base):
    """A labelled data set of one owner: its definition, shape and content hash."""

    __tablename__ = "training_datasets"
    __table_args__ = (UniqueConstraint("owner_id", "label"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    label: Mapped[str] = mapped_column(String(128))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    columns: Mapped[list[str]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(Integer)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    first_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrainingDatasetRow(Base):
    """One row: the candle's bucket start (µs), the instrument and the feature values."""

    __tablename__ = "training_dataset_rows"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("training_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time_us: Mapped[int] = mapped_column(BigInteger)
    instrument: Mapped[str] = mapped_column(String(160))
    values: Mapped[list[Any]] = mapped_column(JSON)
