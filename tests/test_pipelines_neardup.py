"""MinHash signatures and the LSH index: copies match, different stories with boilerplate do not."""

from __future__ import annotations

from datasketch import MinHashLSH

from pipelines.dedup import normalize_body
from pipelines.neardup import (
    NearDuplicateFinder,
    from_bytes,
    permutations,
    signature,
    similarity,
    to_bytes,
)
from storage.bands import DEFAULT_BANDS, DEFAULT_ROWS, band_keys

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


def test_finder_picks_the_best_candidate_above_the_threshold() -> None:
    finder = NearDuplicateFinder(0.5, 64)
    copy = STORY.replace("Wednesday", "Tuesday")
    stored = [(2, to_bytes(sig(OTHER))), (1, to_bytes(sig(STORY))), (3, to_bytes(sig(copy)))]
    assert finder.best_match(sig(copy), stored) == (3, 1.0)
    assert finder.best_match(sig(copy), stored[:2])[0] == 1
    assert finder.best_match(sig(f"{BOILERPLATE} {BOILERPLATE}"), stored) is None
    # Equal scores: the lowest story id.
    assert finder.best_match(sig(STORY), [(5, to_bytes(sig(STORY))),
                                          (4, to_bytes(sig(STORY)))]) == (4, 1.0)


def test_band_keys_share_a_band_exactly_when_the_signatures_do() -> None:
    finder = NearDuplicateFinder(0.5, 64)
    assert (finder.bands, finder.rows) == (DEFAULT_BANDS, DEFAULT_ROWS)
    shipped = MinHashLSH(threshold=0.5, num_perm=64)
    assert (shipped.b, shipped.r) == (DEFAULT_BANDS, DEFAULT_ROWS)
    lsh = MinHashLSH(threshold=0.8, num_perm=64)
    assert (NearDuplicateFinder(0.8, 64).bands, NearDuplicateFinder(0.8, 64).rows) == (
        lsh.b, lsh.r)
    first, second = sig(STORY), sig(STORY.replace("Wednesday", "Tuesday"))
    keys_first, keys_second = finder.band_keys(first), finder.band_keys(second)
    assert len(keys_first) == finder.bands
    same = [band for band in range(finder.bands)
            if (first[band * 4:band * 4 + 4] == second[band * 4:band * 4 + 4]).all()]
    assert len(set(keys_first) & set(keys_second)) == len(same) > 0
    assert band_keys(b"short", 14, 4) == ()
