"""A fetched page's text: the right charset when header and page disagree, binary refused, NFC."""

from __future__ import annotations

import codecs
import contextlib
import unicodedata

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

UTF8 = "utf-8"
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
BINARY_SAMPLE_BYTES = 4096
BINARY_CONTROL_SHARE = 0.05
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def looks_binary(body: bytes) -> bool:
    """True for bodies (images, archives, junk) that no text page holds: control bytes, NULs."""
    sample = body[:BINARY_SAMPLE_BYTES]
    if not sample or sample.startswith(BOMS):
        return False
    controls = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    return controls / len(sample) > BINARY_CONTROL_SHARE


def conflicting_charset_text(body: bytes, content_type: str | None) -> str | None:
    """The text when the header's charset contradicts the page's own; None when they agree.

    Bytes that are valid UTF-8 are read as UTF-8 (text in other encodings rarely validates as
    UTF-8). Otherwise charset-normalizer chooses between the page's charset and the header's:
    the one that decodes every byte into the least garbled text. None when neither fits:
    Scrapy's decoding, with replacement characters, stands. w3lib resolves both names to Python
    codec names.
    """
    header = http_content_type_encoding(content_type)
    declared = html_body_declared_encoding(body)
    if not header or not declared or header == declared or body.startswith(BOMS):
        return None
    with contextlib.suppress(UnicodeDecodeError):
        return body.decode(UTF8)
    best = from_bytes(body, cp_isolation=[declared, header]).best()
    return None if best is None else str(best)


def nfc(text: str) -> str:
    """Text in Unicode NFC: one spelling for letters with diacritics (windows-1258 decomposes)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def utf8_page(body: bytes, encoding: str, text: str) -> bytes:
    """TEXT (the body decoded by ENCODING) as UTF-8: the body itself when it already is that.

    A UTF-8 body without a BOM that decoded with no replacement character is TEXT's exact
    UTF-8 form, so it is handed on as it is, without encoding 100+ KB of text again.
    """
    if (codecs.lookup(encoding).name == UTF8 and not body.startswith(codecs.BOM_UTF8)
            and "\ufffd" not in text):
        return body
    return text.encode("utf-8")


def page_text(body: bytes, content_type: str | None, decoded: str) -> str:
    """The page's NFC text: Scrapy's decoding, unless header and page contradict each other."""
    return nfc(conflicting_charset_text(body, content_type) or decoded)
