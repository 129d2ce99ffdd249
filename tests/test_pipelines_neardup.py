"""MinHash signatures and the LSH index: copies match, different stories with boilerplate do not."""

from __future__ import annotations

from pipelines.dedup import normalize_body
from pipelines.neardup import (
    NearDuplicateIndex,
    from_bytes,
    permutations,
    signature,
    similarity,
    to_bytes,
)

COEFFICIENTS = permutations(64)
STORY = (
    "Glaciers in the Swiss Alps lost a larger share of their remaining ice this summer than in "
    "any year since systematic measurements began more than a century ago, according to figures "
    "published on Wednesday by the country's glacier monitoring network. Researchers blamed an "
    "unusual combination of a dry winter, which left only a thin layer of snow to shield the "
    "ice, and a long heatwave that pushed the freezing level above five thousand metres. Saharan "
    "dust that settled on the snow in spring also darkened the surface. Smaller glaciers have "
    "been hit hardest, and several have broken up into separate patches of dead ice."
)
OTHER = (
    "A new covered market for local produce will open on the station square next spring, the "
    "town council confirmed on Thursday, ending a decade of debate about where stallholders "
    "should trade in winter. The steel and timber hall will hold forty stalls and a bakery."
)
BOILERPLATE = (
    "The Valley Growers Cooperative was founded in 1962 by eleven families who farmed the "
    "terraces above the river and today brings together more than four hundred member farms, "
    "runs two packing houses and sells its fruit under the Valley Orchards label."
)


def sig(text: str):
    result = signature(normalize_body(text).split(), 3, COEFFICIENTS)
    assert result is not None
    return result


def test_signature_is_deterministic_and_round_trips() -> None:
    first = sig(STORY)
    assert (first == sig(STORY)).all()
    assert (from_bytes(to_bytes(first)) == first).all()
    assert len(to_bytes(first)) == 64 * 4
    assert signature([], 3, COEFFICIENTS) is None
    assert similarity(sig("Two words"), sig("two   WORDS!")) == 1.0


def test_copy_with_trimmed_sentence_and_promo_is_similar() -> None:
    copy = STORY.replace(" Saharan dust that settled on the snow in spring also darkened the "
                         "surface.", "") + " Sign up for our free morning newsletter today."
    assert similarity(sig(STORY), sig(copy)) >= 0.5


def test_shared_boilerplate_paragraph_is_not_enough() -> None:
    assert similarity(sig(f"{STORY} {BOILERPLATE}"), sig(f"{OTHER} {BOILERPLATE}")) < 0.5


def test_index_finds_the_best_match_above_the_threshold() -> None:
    index = NearDuplicateIndex(0.5, 64)
    assert index.load([(1, to_bytes(sig(STORY))), (2, to_bytes(sig(OTHER))),
                       (3, b"short")]) == (2, 1)
    copy = STORY.replace("Wednesday", "Tuesday")
    assert index.best_match(sig(copy))[0] == 1
    assert index.best_match(sig(f"{BOILERPLATE} {BOILERPLATE}")) is None
    index.put(2, sig(copy))
    assert len(index) == 2
    assert index.best_match(sig(copy)) == (2, 1.0)
