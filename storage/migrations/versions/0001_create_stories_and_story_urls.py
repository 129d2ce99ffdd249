"""Create stories and story_urls

Revision ID: 0001
Revises:
Create Date: 2026-11-24 22:51:22.622579
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("language_probability", sa.Float(), nullable=True),
        sa.Column("language_method", sa.String(length=16), nullable=True),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("original_url", sa.String(length=2048), nullable=True),
        sa.Column("publisher", sa.String(length=255), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("url", name=op.f("uq_stories_url")),
    )
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stories_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index("ix_stories_language", ["language"], unique=False)
        batch_op.create_index("ix_stories_published_at", ["published_at"], unique=False)
        batch_op.create_index("ix_stories_updated_at", ["updated_at"], unique=False)

    op.create_table(
        "story_urls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column(
            "relation",
            sa.Enum(
                "original", "aggregator", "alias", name="url_relation", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_urls_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_urls")),
        sa.UniqueConstraint("url", name=op.f("uq_story_urls_url")),
    )
    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_urls_story_id"), ["story_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_urls_story_id"))

    op.drop_table("story_urls")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_updated_at")
        batch_op.drop_index("ix_stories_published_at")
        batch_op.drop_index("ix_stories_language")
        batch_op.drop_index(batch_op.f("ix_stories_content_hash"))

    op.drop_table("stories")
