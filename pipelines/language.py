"""Language stage: langdetect on the cleaned body, seeded so results never vary.

Run for each page by pipelines.work.process_page (in the worker pool). langdetect is used
through its public API only: a DetectorFactory with the profiles loaded in a fixed order and a
fixed seed, one detector per text.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from langdetect import PROFILES_DIRECTORY, DetectorFactory, LangDetectException

logger = logging.getLogger(__name__)

LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
DETECTED = "detected"
DECLARED = "declared"


@dataclass(frozen=True)
class LanguageGuess:
    """A language code (ISO 639-1), its probability, and how it was found."""

    code: str | None
    probability: float | None
    method: str | None


def normalize_language_code(code: str | None) -> str | None:
    """ISO 639-1 from a tag such as 'vi-VN', 'en_US' or 'zh-cn'; None for junk."""
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return primary if re.fullmatch(r"[a-z]{2}", primary) else None


def sample_text(text: str, max_chars: int) -> str:
    """A bounded sample of the body: its beginning, middle and end."""
    if len(text) <= max_chars:
        return text
    third = max_chars // 3
    middle = len(text) // 2
    return " ".join((text[:third], text[middle - third // 2 : middle + third // 2], text[-third:]))


def detect_language(
    text: str, declared: str | None, *, min_letters: int, sample_chars: int, seed: int
) -> LanguageGuess:
    """Detect the body's language; use the declared one only when the text is too short."""
    declared_code = normalize_language_code(declared)
    if len(LETTER.findall(text[: sample_chars * 2])) >= min_letters:
        detector = detector_factory(seed).create()
        detector.append(sample_text(text, sample_chars))
        try:
            best = detector.get_probabilities()[0]
        except (LangDetectException, IndexError):
            logger.debug("langdetect found no features in %d chars", len(text))
        else:
            return LanguageGuess(normalize_language_code(best.lang), round(best.prob, 4),
                                 DETECTED)
    if declared_code:
        return LanguageGuess(declared_code, None, DECLARED)
    return LanguageGuess(None, None, None)


@functools.cache
def detector_factory(seed: int) -> DetectorFactory:
    """langdetect's profiles, loaded once per seed in name order; its detectors sample alike.

    The profiles are read in sorted file order (load_profile takes the directory's listing
    order, which differs between file systems), so the languages are summed in one order on
    every machine.
    """
    factory = DetectorFactory()
    profiles = sorted(path for path in Path(PROFILES_DIRECTORY).iterdir()
                      if path.is_file() and not path.name.startswith("."))
    factory.load_json_profile([path.read_text(encoding="utf-8") for path in profiles])
    factory.set_seed(seed)
    return factory
