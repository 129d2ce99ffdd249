"""Time the spider's text steps (crawler.encoding) on real pages, header agreeing or not.

Usage: python bench/encoding.py [--dataset DIR] [--rounds N]

For every page: looks_binary, then page_text with a header that agrees with the page, with
one that contradicts it (ISO-8859-1, Apache's old default, over UTF-8 pages), and over the
page re-encoded in windows-1252 (its meta still saying UTF-8) behind a windows-1252 header:
the bytes are not UTF-8, so charset-normalizer weighs the two. Prints ms per page for each
(best round of N). Then counts, over synthetic pages (a sentence in 5 languages, 7 charsets
as the bytes, the meta and the header), the conflicts whose text comes out right.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from crawler.encoding import conflicting_charset_text, looks_binary, page_text  # noqa: E402
from tests.sites.faults_pages import encode_cp1258  # noqa: E402

DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "bench" / "extraction" / "dev"
AGREEING = "text/html; charset=utf-8"
CONTRADICTING = "text/html; charset=iso-8859-1"
WINDOWS_1252 = "text/html; charset=windows-1252"
SENTENCES = (
    "Trường học vùng cao đón thư viện số đầu tiên ở Hà Giang, Lào Cai luôn xác định nhiệm vụ",
    "La médiathèque de Besançon prolonge ses horaires d'été et rénove les écoles primaires",
    "Die Bürgerinitiative fordert größere Grünflächen und eine Überprüfung der Straßenbahn",
    "Городской совет утвердил бюджет на следующий год, включая ремонт школ",
    "Rada miejska zatwierdziła budżet na przyszły rok, obejmujący remont szkół i żłobków",
)
CHARSETS = ("utf-8", "windows-1258", "iso-8859-1", "windows-1252", "koi8-r", "windows-1251",
            "iso-8859-2")


def best_ms(step: Callable[[bytes], object], pages: list[bytes], rounds: int) -> float:
    """The best round's time of STEP, in ms per page."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for body in pages:
            step(body)
        times.append(time.perf_counter() - start)
    return min(times) / len(pages) * 1000


def conflicts_read_right() -> tuple[int, int]:
    """(right, all) over the synthetic pages whose header and meta name different charsets."""
    right = total = 0
    for sentence, actual, meta, header in itertools.product(SENTENCES, CHARSETS, CHARSETS,
                                                            CHARSETS):
        html = f'<html><head><meta charset="{meta}"></head><body><p>{sentence}</p></body></html>'
        try:
            body = encode_cp1258(html) if actual == "windows-1258" else html.encode(actual)
        except (UnicodeEncodeError, ValueError):  # the sentence has no spelling in it
            continue
        if meta == header:
            continue
        total += 1
        # what the spider ends with: Scrapy decodes by the header unless the pages conflict
        text = (conflicting_charset_text(body, f"text/html; charset={header}")
                or body.decode(header, "replace"))
        right += sentence in unicodedata.normalize("NFC", text)
    return right, total


def main() -> None:
    """Print the time per page of each text step over the dataset's pages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pages = [gzip.decompress(path.read_bytes())
             for path in sorted((args.dataset / "html").glob("*.html.gz"))]
    agreeing = {id(body): body.decode("utf-8", "replace") for body in pages}
    contradicting = {id(body): body.decode("latin-1") for body in pages}
    cp1252 = {id(body): body.decode("utf-8", "replace").encode("cp1252", "replace")
              for body in pages}
    recoded = sum(page_text(body, CONTRADICTING, contradicting[id(body)])
                  != contradicting[id(body)] for body in pages)
    steps = {
        "looks_binary": looks_binary,
        "page_text, header agrees": lambda body: page_text(body, AGREEING, agreeing[id(body)]),
        "page_text, header contradicts": lambda body: page_text(
            body, CONTRADICTING, contradicting[id(body)]),
        "page_text, header contradicts, bytes not UTF-8": lambda body: page_text(
            cp1252[id(body)], WINDOWS_1252, cp1252[id(body)].decode("cp1252", "replace")),
    }
    print(f"{len(pages)} pages ({recoded} recoded behind a contradicting header)")
    for name, step in steps.items():
        print(f"{name}: {best_ms(step, pages, args.rounds):.3f} ms per page")
    right, total = conflicts_read_right()
    print(f"synthetic conflicts read right: {right} of {total}")


if __name__ == "__main__":
    main()
