"""The CPU work of one page (extract and language) as a pure, picklable function."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.extract import Article, extract_utf8_article
from pipelines.language import LanguageGuess, detect_language, detector_factory
from pipelines.markers import load_markers


@dataclass(frozen=True)
class LanguageOptions:
    """The language stage's settings, passed to worker processes with each page."""

    min_letters: int
    sample_chars: int
    seed: int


@dataclass(frozen=True)
class PageResult:
    """What the CPU stages found in a page: its article (None when it holds none)."""

    article: Article | None
    language: LanguageGuess


NO_ARTICLE = PageResult(None, LanguageGuess(None, None, None))


def process_page(html: bytes, url: str, options: LanguageOptions) -> PageResult:
    """Extract the article of a page (its text in UTF-8) and detect its language."""
    article = extract_utf8_article(html, url)
    if article is None:
        return NO_ARTICLE
    guess = detect_language(
        article.text,
        article.language,
        min_letters=options.min_letters,
        sample_chars=options.sample_chars,
        seed=options.seed,
    )
    return PageResult(article, guess)


def warm_up(options: LanguageOptions) -> None:
    """Load what the first page would: the boilerplate markers and langdetect's profiles."""
    load_markers()
    detector_factory(options.seed)
