"""Page text: charset conflicts between header and page, binary bodies, NFC."""

from __future__ import annotations

import unicodedata

import pytest

from crawler.encoding import conflicting_charset_text, looks_binary, nfc, page_text, utf8_page
from tests.sites.faults_pages import encode_cp1258

VIETNAMESE = "Trường học vùng cao đón thư viện số đầu tiên ở Hà Giang"
FRENCH = "La médiathèque de Besançon prolonge ses horaires d'été"


def page(meta: str, text: str) -> str:
    return f'<html><head><meta charset="{meta}"></head><body><p>{text}</p></body></html>'


def test_utf8_page_behind_a_latin1_header_is_read_as_utf8() -> None:
    body = page("utf-8", FRENCH).encode("utf-8")
    assert FRENCH in (conflicting_charset_text(body, "text/html; charset=ISO-8859-1") or "")


def test_windows_1258_page_behind_a_utf8_header_is_read_as_windows_1258() -> None:
    body = encode_cp1258(page("windows-1258", VIETNAMESE))
    text = page_text(body, "text/html; charset=utf-8", body.decode("utf-8", "replace"))
    assert VIETNAMESE in text


def test_utf8_header_wins_over_a_stale_latin1_meta_when_the_bytes_are_utf8() -> None:
    body = page("iso-8859-1", FRENCH).encode("utf-8")
    assert FRENCH in (conflicting_charset_text(body, "text/html; charset=utf-8") or "")


def test_header_and_page_charsets_are_weighed_when_the_bytes_are_not_utf8() -> None:
    """A windows-1258 page wrongly saying ISO-8859-1, behind a windows-1258 header."""
    body = encode_cp1258(page("iso-8859-1", VIETNAMESE))
    assert VIETNAMESE in nfc(conflicting_charset_text(body, "text/html; charset=windows-1258")
                             or "")


def test_bytes_that_fit_neither_side_keep_scrapys_decoding() -> None:
    """UTF-8 in the header, ISO-2022-JP in the page, Latin-1 bytes: neither decodes them."""
    body = page("iso-2022-jp", FRENCH).encode("latin-1")
    assert conflicting_charset_text(body, "text/html; charset=utf-8") is None
    assert page_text(body, "text/html; charset=utf-8", "as decoded") == "as decoded"


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=utf-8"])
def test_no_conflict_leaves_scrapys_decoding(content_type: str) -> None:
    body = page("utf-8", FRENCH).encode("utf-8")
    assert conflicting_charset_text(body, content_type) is None
    assert page_text(body, content_type, "as decoded") == "as decoded"


def test_a_bom_is_never_overridden() -> None:
    body = b"\xef\xbb\xbf" + page("iso-8859-1", FRENCH).encode("utf-8")
    assert conflicting_charset_text(body, "text/html; charset=windows-1252") is None


def test_text_is_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", VIETNAMESE)
    assert nfc(decomposed) == VIETNAMESE
    assert page_text(b"", None, decomposed) == VIETNAMESE


@pytest.mark.parametrize(
    ("body", "binary"),
    [
        (bytes(range(256)) * 8, True),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, True),
        (page("utf-8", VIETNAMESE).encode("utf-8"), False),
        (encode_cp1258(page("windows-1258", VIETNAMESE)), False),
        (b"\xff\xfe" + page("utf-16", FRENCH).encode("utf-16-le"), False),
        (b"", False),
    ],
)
def test_looks_binary(body: bytes, binary: bool) -> None:
    assert looks_binary(body) is binary


def test_utf8_body_is_handed_on_as_it_is() -> None:
    body = page("utf-8", VIETNAMESE).encode("utf-8")
    assert utf8_page(body, "utf8", body.decode("utf-8")) is body


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (page("utf-8", VIETNAMESE).encode("utf-8")[:-30] + b"\xff\xfe" + b"</p></html>", "utf-8"),
        (b"\xef\xbb\xbf" + page("utf-8", FRENCH).encode("utf-8"), "utf-8"),
        (page("latin-1", FRENCH).encode("latin-1"), "cp1252"),
    ],
    ids=["invalid-bytes", "bom", "latin-1"],
)
def test_other_bodies_are_encoded_from_their_decoded_text(body: bytes, encoding: str) -> None:
    text = body.decode(encoding, "replace").removeprefix("\ufeff")
    assert utf8_page(body, encoding, text) == text.encode("utf-8")
