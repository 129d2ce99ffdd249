"""Word tokens of text lines, for containment tests between candidate texts."""

from __future__ import annotations

import re

TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of TEXT."""
    return TOKEN.findall(text.lower())


def joined_tokens(text_tokens: list[str]) -> str:
    """TEXT_TOKENS as a space-padded string, for contiguous containment tests."""
    return " " + " ".join(text_tokens) + " "


def token_string(text: str) -> str:
    """TEXT as a space-padded string of its tokens, for contiguous containment tests."""
    return joined_tokens(tokens(text))
