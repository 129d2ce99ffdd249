"""URL columns become TEXT: a URL is bounded by its index entry, not by 2,048 characters

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 04:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

URL_COLUMNS = (("stories", "url"), ("stories", "original_url"), ("story_urls", "url"),
               ("story_revisions", "url"))


def upgrade() -> None:
    """Apply this revision."""
    for table, column in URL_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=2048),
                                  type_=sa.Text())


def downgrade() -> None:
    """Revert this revision (URLs over 2,048 characters must be gone first)."""
    for table, column in URL_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(),
                                  type_=sa.String(length=2048))
