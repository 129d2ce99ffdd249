"""Lookup indexes: LSH band keys, story_urls.canonical_url, stories.original_url

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 04:45:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from alembic import op

from common.urls import canonical_url
from storage.bands import DEFAULT_BANDS, DEFAULT_ROWS, band_keys

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def _backfill_canonical_urls(conn: sa.Connection) -> None:
    """Set story_urls.canonical_url of the stored rows, a batch at a time in id order."""
    urls = sa.table("story_urls", sa.column("id", sa.Integer), sa.column("url", sa.String),
                    sa.column("canonical_url", sa.String))
    update = (urls.update().where(urls.c.id == sa.bindparam("row_id"))
              .values(canonical_url=sa.bindparam("canonical")))
    last = 0
    while rows := conn.execute(sa.select(urls.c.id, urls.c.url).where(urls.c.id > last)
                               .order_by(urls.c.id).limit(BATCH)).all():
        conn.execute(update, [{"row_id": row_id, "canonical": canonical_url(url)}
                              for row_id, url in rows])
        last = rows[-1][0]


def _backfill_bands(conn: sa.Connection) -> None:
    """Index the stored signatures' band keys (the default layout: storage/bands.py)."""
    stories = sa.table("stories", sa.column("id", sa.Integer),
                       sa.column("minhash", sa.LargeBinary))
    bands = sa.table("story_bands", sa.column("band", sa.BigInteger),
                     sa.column("story_id", sa.Integer))
    last = 0
    while rows := conn.execute(sa.select(stories.c.id, stories.c.minhash)
                               .where(stories.c.id > last, stories.c.minhash.is_not(None))
                               .order_by(stories.c.id).limit(BATCH)).all():
        keys = [{"band": key, "story_id": story_id} for story_id, minhash in rows
                for key in band_keys(cast(bytes, minhash), DEFAULT_BANDS, DEFAULT_ROWS)]
        if keys:
            conn.execute(bands.insert(), keys)
        last = rows[-1][0]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "story_bands",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_bands_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "story_id", name=op.f("pk_story_bands")),
    )
    with op.batch_alter_table("story_bands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_bands_story_id"), ["story_id"], unique=False)
    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canonical_url", sa.Text(), nullable=True))
    conn = op.get_bind()
    _backfill_canonical_urls(conn)
    _backfill_bands(conn)
    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_urls_canonical_url"), ["canonical_url"],
                              unique=False)
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index("ix_stories_original_url", ["original_url"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_original_url")
    with op.batch_alter_table("story_urls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_urls_canonical_url"))
        batch_op.drop_column("canonical_url")
    with op.batch_alter_table("story_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_bands_story_id"))
    op.drop_table("story_bands")
