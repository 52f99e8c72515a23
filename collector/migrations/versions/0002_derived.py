"""Derived tables for the dashboard; raw snapshot bodies may be pruned (nullable body).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db import BigId, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["uai"], ["schools.uai"], name=f"fk_{table}_uai_schools")


def upgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.alter_column("body", existing_type=sa.Text(), nullable=True)
    op.create_index("ix_schools_commune", "schools", ["commune"])
    op.create_index("ix_schools_size", "schools", ["size"])
    op.create_table(
        "measurements",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("target_host", sa.String(256), nullable=False),
        sa.Column("down_mbps", sa.Float(), nullable=True),
        sa.Column("up_mbps", sa.Float(), nullable=True),
        sa.Column("idle_latency_ms", sa.Float(), nullable=True),
        sa.Column("loaded_latency_ms", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("bytes_used", sa.BigInteger(), nullable=False),
        sa.Column("cut_short", sa.String(256), nullable=True),
        _fk("measurements"),
        sa.PrimaryKeyConstraint("id", name="pk_measurements"),
        sa.UniqueConstraint(
            "agent_id", "started_at", "backend", name="uq_measurements_agent_started"
        ),
    )
    op.create_index("ix_measurements_uai_started_at", "measurements", ["uai", "started_at"])
    op.create_table(
        "devices",
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("mac", sa.String(17), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("vendor", sa.String(256), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("serial", sa.String(256), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.Column("reported_at", UtcDateTime(), nullable=False),
        sa.Column("min_toner_percent", sa.Float(), nullable=True),
        sa.Column("lamp_hours", sa.Integer(), nullable=True),
        sa.Column("lamp_rated_hours", sa.Integer(), nullable=True),
        sa.Column("toner_low", sa.Boolean(), nullable=False),
        sa.Column("lamp_end", sa.Boolean(), nullable=False),
        sa.Column("health_text", sa.String(1024), nullable=False),
        _fk("devices"),
        sa.PrimaryKeyConstraint("uai", "mac", name="pk_devices"),
    )
    op.create_table(
        "assessments",
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("assessed_at", UtcDateTime(), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("judged", sa.Integer(), nullable=False),
        _fk("assessments"),
        sa.PrimaryKeyConstraint("uai", name="pk_assessments"),
    )
    op.create_table(
        "assessment_criteria",
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("criterion_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.String(1024), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _fk("assessment_criteria"),
        sa.PrimaryKeyConstraint("uai", "criterion_id", name="pk_assessment_criteria"),
    )
    flags = [
        "equipment_ok",
        "alert_below_minimum",
        "alert_toner_low",
        "alert_lamp_end",
        "alert_wifi_on",
        "alert_clock_skew",
        "alert_dead_letters",
    ]
    op.create_table(
        "school_summary",
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("snapshot_at", UtcDateTime(), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("verdict_minimum", sa.String(8), nullable=False),
        sa.Column("verdict_desirable", sa.String(8), nullable=False),
        sa.Column("median_down_mbps", sa.Float(), nullable=True),
        sa.Column("median_up_mbps", sa.Float(), nullable=True),
        sa.Column("tests", sa.Integer(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("judged", sa.Integer(), nullable=False),
        sa.Column("score_pct", sa.Float(), nullable=True),
        *(sa.Column(name, sa.Boolean(), nullable=False) for name in flags[:1]),
        sa.Column("devices", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Boolean(), nullable=False) for name in flags[1:]),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("agent_version", sa.String(64), nullable=False),
        sa.Column("uptime_s", sa.Float(), nullable=False),
        sa.Column("spool_depth", sa.Integer(), nullable=False),
        sa.Column("dead_letters", sa.Integer(), nullable=False),
        sa.Column("dropped_snapshots", sa.Integer(), nullable=False),
        sa.Column("clock_synchronised", sa.Boolean(), nullable=True),
        sa.Column("clock_skew_s", sa.Float(), nullable=True),
        sa.Column("last_errors", sa.String(2600), nullable=False),
        _fk("school_summary"),
        sa.PrimaryKeyConstraint("uai", name="pk_school_summary"),
    )
    for column in ("last_seen_at", "verdict_minimum", "verdict_desirable", "score_pct", "alerts"):
        op.create_index(f"ix_school_summary_{column}", "school_summary", [column])


def downgrade() -> None:
    for table in ("school_summary", "assessment_criteria", "assessments", "devices"):
        op.drop_table(table)
    op.drop_index("ix_measurements_uai_started_at", table_name="measurements")
    op.drop_table("measurements")
    op.drop_index("ix_schools_size", table_name="schools")
    op.drop_index("ix_schools_commune", table_name="schools")
    with op.batch_alter_table("snapshots") as batch:
        batch.alter_column("body", existing_type=sa.Text(), nullable=False)
