"""Initial schema: schools, agents, enrolment tokens, snapshots, nonces.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db import BigId, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), server_default="", nullable=False),
        sa.Column("commune", sa.String(200), server_default="", nullable=False),
        sa.Column("size", sa.String(16), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uai", name="pk_schools"),
    )
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("enrolled_via", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("last_seen_at", UtcDateTime(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("clock_skew_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["uai"], ["schools.uai"], name="fk_agents_uai_schools"),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agents"),
        sa.UniqueConstraint("public_key", name="uq_agents_public_key"),
    )
    op.create_index("ix_agents_uai", "agents", ["uai"])
    op.create_table(
        "enrolment_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["uai"], ["schools.uai"], name="fk_enrolment_tokens_uai_schools"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_enrolment_tokens"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("uai", sa.String(8), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name="fk_snapshots_agent_id_agents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
        sa.UniqueConstraint("agent_id", "seq", name="uq_snapshots_agent_id_seq"),
    )
    op.create_index("ix_snapshots_uai_created_at", "snapshots", ["uai", "created_at"])
    op.create_table(
        "nonces",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "nonce", name="pk_nonces"),
    )
    op.create_index("ix_nonces_expires_at", "nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_table("nonces")
    op.drop_index("ix_snapshots_uai_created_at", table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_table("enrolment_tokens")
    op.drop_index("ix_agents_uai", table_name="agents")
    op.drop_table("agents")
    op.drop_table("schools")
