"""The hand-written salesperson-act probes (benchmarks/meaning_probes/acts.yaml): shape,
sizes, language of every item, disjoint splits, and that a cue-word matcher cannot pass
them (at least half of each act list avoids that act's cue words)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from salesenv.cues import lexicon

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "meaning_probes" / "acts.yaml"
ACTS = ("discovery", "close", "pressure")
LABELS = (*ACTS, "neutral")
LANGUAGES = ("en", "zh")
MINIMUM = {
    "dev": {"discovery": 12, "close": 12, "pressure": 12, "neutral": 20},
    "test": {"discovery": 20, "close": 20, "pressure": 20, "neutral": 30},
}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@pytest.fixture(scope="module")
def probes() -> dict:
    return yaml.safe_load(PATH.read_text(encoding="utf-8"))


def _items(probes: dict, split: str, language: str, label: str) -> list[str]:
    return probes[split][language][label]


def test_shape_is_split_language_label(probes):
    assert set(probes) == {"dev", "test"}
    for split in probes:
        assert set(probes[split]) == set(LANGUAGES), split
        for language in LANGUAGES:
            assert set(probes[split][language]) == set(LABELS), (split, language)


@pytest.mark.parametrize("split", ["dev", "test"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_minimum_counts_and_items_are_sentences_in_the_right_script(probes, split, language):
    for label in LABELS:
        items = _items(probes, split, language, label)
        where = f"{split}.{language}.{label}"
        assert len(items) >= MINIMUM[split][label], f"{where} has {len(items)} items"
        for item in items:
            assert isinstance(item, str) and item.strip() == item and item, (where, item)
            if language == "zh":
                assert len(_CJK.findall(item)) >= 4, (where, item)
            else:
                assert not _CJK.search(item), (where, item)
                assert len(_LATIN.findall(item)) >= 8, (where, item)


def test_no_item_repeats_within_or_across_splits(probes):
    seen = Counter(
        " ".join(item.lower().split())
        for split in probes.values()
        for by_label in split.values()
        for items in by_label.values()
        for item in items
    )
    assert [item for item, n in seen.items() if n > 1] == []


@pytest.mark.parametrize("split", ["dev", "test"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_at_least_half_of_each_act_avoids_its_cue_words(probes, split, language):
    lex = lexicon(language)
    for act in ACTS:
        items = _items(probes, split, language, act)
        cued = [item for item in items if lex.has(act, item)]
        assert len(cued) <= len(items) // 2, (split, language, act, cued)
        # Some items do carry the cue words, so the set also covers the easy case.
        assert cued, (split, language, act)


@pytest.mark.parametrize("split", ["dev", "test"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_neutral_holds_cue_word_hard_negatives(probes, split, language):
    lex = lexicon(language)
    decoys = [
        item
        for item in _items(probes, split, language, "neutral")
        if any(lex.has(act, item) for act in ACTS)
    ]
    assert 1 <= len(decoys) <= 4, (split, language, decoys)
