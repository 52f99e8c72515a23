"""School summary: which device list the devices table holds for the school.

`devices_digest` identifies the device rows the latest snapshot derived (every
value but the report time); `devices_at` is the report time those rows carry,
i.e. the created_at of the snapshot that last wrote the school's device list.
A snapshot whose device list is unchanged (the usual case: a school's equipment
changes rarely) then writes no device row at all, and "in the latest report"
means `devices.reported_at = school_summary.devices_at`.

Existing summaries: every device row the latest snapshot wrote carries its
created_at, so `devices_at = snapshot_at`; the digest starts empty (the next
snapshot writes its list in full).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collector.db import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("school_summary") as batch:
        batch.add_column(sa.Column("devices_digest", sa.String(32), nullable=True))
        batch.add_column(sa.Column("devices_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE school_summary SET devices_at = snapshot_at")


def downgrade() -> None:
    with op.batch_alter_table("school_summary") as batch:
        batch.drop_column("devices_at")
        batch.drop_column("devices_digest")
