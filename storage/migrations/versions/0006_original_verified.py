"""Add stories.original_verified: False when a story's credited original was never fetched

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("stories", sa.Column("original_verified", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert this revision (SQLite 3.35+ drops the column in place: no table rebuild, so the
    search triggers of 0005 stay)."""
    op.drop_column("stories", "original_verified")
