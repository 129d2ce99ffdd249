"""Near-duplicate signatures, alias kinds, HTTP validators and story revisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("minhash", sa.LargeBinary(), nullable=True))

    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("http_etag", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("http_last_modified", sa.String(length=64), nullable=True))

    op.create_table(
        "story_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_revisions_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_revisions")),
        sa.UniqueConstraint("story_id", "revision", name=op.f("uq_story_revisions_story_id")),
    )
    with op.batch_alter_table("story_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_story_revisions_story_id"), ["story_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("story_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_revisions_story_id"))

    op.drop_table("story_revisions")
    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.drop_column("http_last_modified")
        batch_op.drop_column("http_etag")
        batch_op.drop_column("kind")

    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_column("minhash")
