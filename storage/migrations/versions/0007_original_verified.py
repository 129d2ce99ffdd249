"""Add stories.original_verified: False when a story's credited original was never fetched

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-03 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("stories", sa.Column("original_verified", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("original_verified")
