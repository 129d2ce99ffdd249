"""Unfinished runs: crawl_runs.finished_at and finish_reason nullable, crawl_runs.pid

A run's row is written when it starts; finished_at and finish_reason stay NULL until it ends,
and pid names the crawl's process (a row never finished is a run that was killed).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.alter_column("finished_at", existing_type=sa.DateTime(timezone=True),
                              nullable=True)
        batch_op.alter_column("finish_reason", existing_type=sa.String(length=64),
                              nullable=True)


def downgrade() -> None:
    """Revert this revision: rows of runs that never finished are deleted first."""
    op.execute("DELETE FROM crawl_runs WHERE finished_at IS NULL OR finish_reason IS NULL")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.alter_column("finish_reason", existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column("finished_at", existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.drop_column("pid")
