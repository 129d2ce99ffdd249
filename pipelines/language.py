"""Language stage: langdetect on the cleaned body, seeded so results never vary.

Run for each page by pipelines.work.process_page (in the worker pool).
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram
from langdetect.utils.unicode_block import unicode_block

logger = logging.getLogger(__name__)

LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
DETECTED = "detected"
DECLARED = "declared"


# Pure functions of one character, computed once per character.
normalized_char = functools.cache(NGram.normalize)
block_of = functools.cache(unicode_block)


class VectorDetector(Detector):
    """langdetect's Detector, giving its answers with fewer Python operations.

    The same floating-point operations in the same order, so the same probabilities:
    - the per-n-gram update over all languages is done by numpy: each language's probability
      times (weight + the n-gram's probability in it), elementwise in float64; the n-grams'
      probability vectors are built once per factory;
    - normalization divides by the sum taken by Python's sum() in list order, as langdetect;
    - the random draws are langdetect's own (the same seeded random.Random, the same calls);
    - text cleaning and n-gram extraction look each character's Unicode block and normalized
      form up once per character (both are pure functions of the character).
    """

    text: str  # set by langdetect's append(), cleaned by cleaning_text()

    def __init__(self, factory: DetectorFactory) -> None:
        super().__init__(factory)
        self.vectors = ngram_vectors(factory)

    def cleaning_text(self) -> None:
        """Drop Latin letters from a text mostly in another script, as langdetect does."""
        latin_count = non_latin_count = 0
        for ch, count in Counter(self.text).items():
            if "A" <= ch <= "z":
                latin_count += count
            elif ch >= "\u0300" and block_of(ch) != "Latin Extended Additional":
                non_latin_count += count
        if latin_count * 2 < non_latin_count:
            self.text = "".join(ch for ch in self.text if ch < "A" or "z" < ch)

    def _extract_ngrams(self) -> list[str]:
        """The text's 1- to 3-grams that have a profile, in the order langdetect's NGram
        yields them (its add_char state machine, written out)."""
        known = self.word_lang_prob_map
        found: list[str] = []
        grams, capital_word = " ", False
        for raw in self.text:
            ch = normalized_char(raw)
            last = grams[-1]
            if last == " ":
                grams, capital_word = " ", False
                if ch == " ":
                    continue
            elif len(grams) >= NGram.N_GRAM:
                grams = grams[1:]
            grams += ch
            capital_word = ch.isupper() and (capital_word or last.isupper())
            if capital_word:
                continue
            for n in range(1, len(grams) + 1):
                gram = grams[-n:]
                if gram != " " and gram in known:
                    found.append(gram)
        return found

    def _init_probability(self) -> np.ndarray:
        return np.array(super()._init_probability(), dtype=np.float64)

    def _update_lang_prob(self, prob: np.ndarray, word: str | None, alpha: float) -> bool:
        if word is None or word not in self.word_lang_prob_map:
            return False
        vector = self.vectors.get(word)
        if vector is None:
            vector = self.vectors[word] = np.array(self.word_lang_prob_map[word], np.float64)
        prob *= alpha / self.BASE_FREQ + vector
        return True

    def _normalize_prob(self, prob: np.ndarray) -> float:
        prob /= sum(prob.tolist())
        return float(prob.max())


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
        detector = VectorDetector(detector_factory(seed))
        detector.append(sample_text(text, sample_chars))
        try:
            best = detector.get_probabilities()[0]
        except (LangDetectException, IndexError):
            logger.debug("langdetect found no features in %d chars", len(text))
        else:
            return LanguageGuess(normalize_language_code(best.lang), round(float(best.prob), 4),
                                 DETECTED)
    if declared_code:
        return LanguageGuess(declared_code, None, DECLARED)
    return LanguageGuess(None, None, None)


@functools.cache
def ngram_vectors(factory: DetectorFactory) -> dict[str, np.ndarray]:
    """The n-gram probability vectors a factory's detectors have built so far (shared)."""
    return {}


@functools.cache
def detector_factory(seed: int) -> DetectorFactory:
    """langdetect's profiles, loaded once per seed; its detectors all sample the same way."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(seed)
    return factory
