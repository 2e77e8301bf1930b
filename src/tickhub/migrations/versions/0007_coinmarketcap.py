"""coinmarketcap: listings history and global-metrics history (seed 002)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Amount = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "cmc_listings",
        sa.Column("cmc_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("minute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("convert", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("price", Amount, nullable=True),
        sa.Column("volume_24h", Amount, nullable=True),
        sa.Column("market_cap", Amount, nullable=True),
        sa.Column("percent_change_1h", Amount, nullable=True),
        sa.Column("percent_change_24h", Amount, nullable=True),
        sa.Column("percent_change_7d", Amount, nullable=True),
        sa.Column("circulating_supply", Amount, nullable=True),
        sa.Column("total_supply", Amount, nullable=True),
        sa.Column("max_supply", Amount, nullable=True),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cmc_id", "minute", name=op.f("pk_cmc_listings")),
    )
    op.create_index("ix_cmc_listings_minute", "cmc_listings", ["minute"])
    op.create_index("ix_cmc_listings_symbol", "cmc_listings", ["symbol", "minute"])
    op.create_table(
        "cmc_global_metrics",
        sa.Column("minute", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("convert", sa.String(length=16), nullable=False),
        sa.Column("active_cryptocurrencies", sa.Integer(), nullable=False),
        sa.Column("btc_dominance", Amount, nullable=False),
        sa.Column("eth_dominance", Amount, nullable=False),
        sa.Column("total_market_cap", Amount, nullable=True),
        sa.Column("total_volume_24h", Amount, nullable=True),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("minute", name=op.f("pk_cmc_global_metrics")),
    )


def downgrade() -> None:
    op.drop_table("cmc_global_metrics")
    op.drop_index("ix_cmc_listings_symbol", table_name="cmc_listings")
    op.drop_index("ix_cmc_listings_minute", table_name="cmc_listings")
    op.drop_table("cmc_listings")
