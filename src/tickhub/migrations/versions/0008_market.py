"""market: sessions, bids and payments, money, price weights, raw data, forecasts,
notifications and clearings (seed 003); the wallets and resources tables of 0002 stay

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tickhub.db import ExactDecimal, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_number", sa.Integer(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("staged_ts", UtcDateTime(), nullable=True),
        sa.Column("open_ts", UtcDateTime(), nullable=True),
        sa.Column("close_ts", UtcDateTime(), nullable=True),
        sa.Column("launch_ts", UtcDateTime(), nullable=True),
        sa.Column("finish_ts", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("market_price", ExactDecimal(), nullable=False),
        sa.Column("b_min", ExactDecimal(), nullable=False),
        sa.Column("b_max", ExactDecimal(), nullable=False),
        sa.Column("n_price_steps", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Float(precision=53), nullable=False),
        sa.CheckConstraint(
            "status IN ('staged', 'open', 'closed', 'running', 'finished')",
            name=op.f("ck_market_sessions_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_sessions")),
        sa.UniqueConstraint(
            "session_number",
            "session_date",
            name=op.f("uq_market_sessions_session_number_session_date"),
        ),
    )
    with op.batch_alter_table("market_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_sessions_status"), ["status"], unique=False)

    op.create_table(
        "market_balances",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("balance", ExactDecimal(), nullable=False),
        sa.Column("total_deposit", ExactDecimal(), nullable=False),
        sa.Column("total_withdraw", ExactDecimal(), nullable=False),
        sa.Column("total_payment", ExactDecimal(), nullable=False),
        sa.Column("total_revenue", ExactDecimal(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_market_balances_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_market_balances")),
    )
    op.create_table(
        "market_clearings",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("booked_at", UtcDateTime(), nullable=True),
        sa.Column("next_session_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_clearings_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_market_clearings")),
    )
    op.create_table(
        "market_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("notification_type", sa.String(length=64), nullable=False),
        sa.Column("notification_title", sa.String(length=255), nullable=False),
        sa.Column("notification_description", sa.String(length=255), nullable=False),
        sa.Column("state", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_market_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_market_notifications_key")),
    )
    with op.batch_alter_table("market_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_notifications_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "market_price_weights",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("weights_p", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_price_weights_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_price_weights")),
        sa.UniqueConstraint(
            "session_id", "step", name=op.f("uq_market_price_weights_session_id_step")
        ),
    )
    with op.batch_alter_table("market_price_weights", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_price_weights_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "market_session_fees",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_session_fees_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_market_session_fees")),
    )
    op.create_table(
        "market_transfers_out",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("user_wallet_address", sa.String(length=128), nullable=False),
        sa.Column("tangle_msg_id", sa.String(length=256), nullable=False),
        sa.Column("is_solid", sa.Boolean(), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_market_transfers_out_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_transfers_out")),
    )
    with op.batch_alter_table("market_transfers_out", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_transfers_out_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "market_bids",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("max_payment", ExactDecimal(), nullable=False),
        sa.Column("bid_price", ExactDecimal(), nullable=False),
        sa.Column("gain_func", sa.String(length=8), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("has_forecasts", sa.Boolean(), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "gain_func IN ('mse', 'rmse', 'mae')", name=op.f("ck_market_bids_gain_func")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_market_bids_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_bids_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_market_bids_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_bids")),
        sa.UniqueConstraint(
            "session_id",
            "user_id",
            "resource_id",
            name=op.f("uq_market_bids_session_id_user_id_resource_id"),
        ),
    )
    with op.batch_alter_table("market_bids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_bids_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_bids_user_id"), ["user_id"], unique=False)

    op.create_table(
        "market_forecasts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("datetime", UtcDateTime(), nullable=False),
        sa.Column("request", UtcDateTime(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("units", sa.String(length=2), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_market_forecasts_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_forecasts_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_market_forecasts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "resource_id", "session_id", "datetime", name=op.f("pk_market_forecasts")
        ),
    )
    op.create_table(
        "market_session_balances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("session_balance", ExactDecimal(), nullable=False),
        sa.Column("session_deposit", ExactDecimal(), nullable=False),
        sa.Column("session_payment", ExactDecimal(), nullable=False),
        sa.Column("session_revenue", ExactDecimal(), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_market_session_balances_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_session_balances_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_market_session_balances_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_session_balances")),
        sa.UniqueConstraint(
            "session_id",
            "user_id",
            "resource_id",
            name=op.f("uq_market_session_balances_session_id_user_id_resource_id"),
        ),
    )
    with op.batch_alter_table("market_session_balances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_session_balances_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_market_session_balances_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "market_transactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "type IN ('payment', 'revenue', 'transfer_in', 'transfer_out')",
            name=op.f("ck_market_transactions_type"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_market_transactions_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["market_sessions.id"],
            name=op.f("fk_market_transactions_session_id_market_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_market_transactions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_transactions")),
        sa.UniqueConstraint(
            "session_id",
            "user_id",
            "resource_id",
            "type",
            name=op.f("uq_market_transactions_session_id_user_id_resource_id_type"),
        ),
    )
    with op.batch_alter_table("market_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_transactions_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_market_transactions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "raw_data",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("datetime", UtcDateTime(), nullable=False),
        sa.Column("resource_type", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("units", sa.String(length=2), nullable=False),
        sa.Column("time_interval", sa.Integer(), nullable=False),
        sa.Column("aggregation_type", sa.String(length=3), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_raw_data_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_raw_data_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "resource_id", "datetime", name=op.f("pk_raw_data")),
    )
    op.create_table(
        "market_bid_payments",
        sa.Column("bid_id", sa.String(length=36), nullable=False),
        sa.Column("tangle_msg_id", sa.String(length=256), nullable=False),
        sa.Column("is_solid", sa.Boolean(), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["market_bids.id"],
            name=op.f("fk_market_bid_payments_bid_id_market_bids"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bid_id", name=op.f("pk_market_bid_payments")),
        sa.UniqueConstraint("tangle_msg_id", name=op.f("uq_market_bid_payments_tangle_msg_id")),
    )


def downgrade() -> None:
    op.drop_table("market_bid_payments")
    op.drop_table("raw_data")
    with op.batch_alter_table("market_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_transactions_user_id"))
        batch_op.drop_index(batch_op.f("ix_market_transactions_session_id"))

    op.drop_table("market_transactions")
    with op.batch_alter_table("market_session_balances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_session_balances_user_id"))
        batch_op.drop_index(batch_op.f("ix_market_session_balances_session_id"))

    op.drop_table("market_session_balances")
    op.drop_table("market_forecasts")
    with op.batch_alter_table("market_bids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_bids_user_id"))
        batch_op.drop_index(batch_op.f("ix_market_bids_session_id"))

    op.drop_table("market_bids")
    with op.batch_alter_table("market_transfers_out", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_transfers_out_user_id"))

    op.drop_table("market_transfers_out")
    op.drop_table("market_session_fees")
    with op.batch_alter_table("market_price_weights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_price_weights_session_id"))

    op.drop_table("market_price_weights")
    with op.batch_alter_table("market_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_notifications_user_id"))

    op.drop_table("market_notifications")
    op.drop_table("market_clearings")
    op.drop_table("market_balances")
    with op.batch_alter_table("market_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_sessions_status"))

    op.drop_table("market_sessions")
