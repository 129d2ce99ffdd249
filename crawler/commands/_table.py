"""Fixed-width text tables for the commands that print stored data."""

from __future__ import annotations

from collections.abc import Sequence


def _cell(value: object, width: int | None) -> str:
    """A value as text, cut to a column's width (None: never cut)."""
    text = "" if value is None else str(value)
    if width is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]],
                 widths: Sequence[int | None]) -> str:
    """Rows under a header line and a rule; a width of None leaves that column uncut."""
    def line(cells: Sequence[object]) -> str:
        return "  ".join(_cell(c, w).ljust(w or 0)
                         for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * (w or len(h)) for h, w in zip(header, widths, strict=True))
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
