"""Language detection: deterministic, with a declared-language fallback for short text."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from pipelines.language import (
    LanguageGuess,
    detect_language,
    detector_factory,
    normalize_language_code,
    sample_text,
)

VI = ("Những năm qua, Liên đoàn Lao động tỉnh Lào Cai luôn xác định việc tham gia xây dựng "
      "Đảng, chính quyền trong sạch, vững mạnh là một trong những nhiệm vụ trọng tâm của tổ "
      "chức công đoàn. Các cấp công đoàn đã phối hợp kịp thời, lựa chọn có trọng tâm.")
FR = ("Le conseil municipal a adopté mardi soir un budget qui prévoit la rénovation des écoles "
      "primaires et l'extension du réseau de pistes cyclables, malgré les critiques de "
      "l'opposition qui juge les dépenses trop élevées pour une ville de cette taille.")
EN = ("The city council approved on Tuesday a budget that funds the renovation of primary "
      "schools and the extension of the cycle lane network, despite criticism from the "
      "opposition, which called the spending too high for a town of this size.")


def detect(text: str, declared: str | None = None, seed: int = 0):
    return detect_language(text, declared, min_letters=100, sample_chars=3000, seed=seed)


@pytest.mark.parametrize(("text", "code"), [(VI, "vi"), (FR, "fr"), (EN, "en")])
def test_detects_the_body_language(text: str, code: str) -> None:
    guess = detect(text, declared="de")
    assert guess.code == code
    assert guess.method == "detected"
    assert guess.probability is not None
    assert guess.probability > 0.9


def test_same_text_same_answer_every_time() -> None:
    mixed = "Sa Pa tourism Lào Cai du lịch " * 6
    answers = {detect(mixed) for _ in range(20)}
    assert len(answers) == 1


def test_short_text_falls_back_to_declared() -> None:
    guess = detect("Xin chào", declared="vi-VN")
    assert (guess.code, guess.probability, guess.method) == ("vi", None, "declared")
    assert detect("Hi", declared=None).code is None


@pytest.mark.parametrize(
    ("tag", "code"), [("vi-VN", "vi"), ("en_US", "en"), ("zh-cn", "zh"), ("FR", "fr"),
                      ("", None), (None, None), ("english", None)]
)
def test_normalize_language_code(tag: str | None, code: str | None) -> None:
    assert normalize_language_code(tag) == code


def test_sample_is_bounded() -> None:
    text = "a" * 10_000
    assert len(sample_text(text, 3000)) <= 3002
    assert sample_text("short", 3000) == "short"


MIXED = [VI, FR, EN, VI[:60], EN[:40] + FR[:40], FR[:120] + " " + VI[:50], "Hà Nội 2024 OK",
         EN.upper(), "Ελληνικά κείμενα και English words", "日本語のテキストと English",
         "NASA and the ESA: a JOINT Mission to MARS in 2030! aB Cd EFg hIJ",
         "Ελληνικά κείμενα και λίγες λέξεις OK", "Привет мир и MOSCOW news",
         "İSTANBUL'da Şişli ve BEYOĞLU, ÀÉÎÕÜ àéîõü ÇÑ çñ ș ț"]


def detect_all(texts: list[str]) -> list[LanguageGuess]:
    """Every text's guess by langdetect (no declared fallback), in the process this runs in."""
    return [detect_language(text, None, min_letters=1, sample_chars=3000, seed=0)
            for text in texts]


def test_same_answers_in_a_fresh_process() -> None:
    """A spawned interpreter (its own hash seed, its own profile load) gives the same records."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        theirs = pool.submit(detect_all, MIXED).result(timeout=120)
    assert theirs == detect_all(MIXED)


def test_profiles_are_loaded_in_name_order() -> None:
    """The languages' order does not follow the profile directory's listing order."""
    languages = detector_factory(0).get_lang_list()
    assert len(languages) == 55
    assert languages == sorted(languages)
