"""The hand-written meaning probes (benchmarks/meaning_probes/) and the benchmark that plays
them (benchmarks/meaning_probe.py)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

from salesenv.cues import claimed_numbers
from salesenv.scenarios.scenario import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
MINIMUM = {"dev": (25, 15), "test": (45, 25)}  # forks, unsupported claims per language


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "meaning_probe", ROOT / "benchmarks" / "meaning_probe.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


mp = _load_script()


@pytest.fixture(scope="module")
def splits():
    return {split: mp.load_probes(split) for split in mp.SPLITS}


@pytest.mark.parametrize("split", mp.SPLITS)
def test_counts_meet_the_minimums(splits, split):
    probes = splits[split]
    forks = Counter(f.language for f in probes.forks)
    claims = Counter(c.language for c in probes.claims)
    min_forks, min_claims = MINIMUM[split]
    for language in LANGUAGES:
        assert forks[language] >= min_forks, (split, language, forks)
        assert claims[language] >= min_claims, (split, language, claims)
        # The supported claims are the forks' paraphrases: at least as many as unsupported.
        assert forks[language] >= claims[language]


@pytest.mark.parametrize("split", mp.SPLITS)
def test_every_fork_matches_the_catalog(splits, split):
    probes = splits[split]
    assert mp.catalog_problems(probes.forks, probes.claims) == []
    for fork in probes.forks:
        assert fork.paraphrase.strip() != fork.fact.strip(), fork.id
        scenario = mp.probe_scenario(fork.product, fork.language, fork.factor)
        assert fork.fact in [f.text for f in scenario.product.facts if f.factor == fork.factor]
        assert scenario.persona.decision_factors[0] == fork.factor
        assert mp.off_topic_fact(scenario, fork.factor).factor != fork.factor
    paraphrases = Counter(f.paraphrase for f in probes.forks)
    assert max(paraphrases.values()) == 1, "a paraphrase is used twice"


def test_dev_and_test_products_are_disjoint(splits):
    assert splits["dev"].products().isdisjoint(splits["test"].products())


def test_unsupported_claims_carry_no_numbers(splits):
    # Today's checks catch numbers; these claims probe what they cannot catch.
    for probes in splits.values():
        for claim in probes.claims:
            assert not claimed_numbers(claim.claim), claim.id


def test_a_fact_not_in_the_catalog_is_named(tmp_path):
    (tmp_path / "dev.yaml").write_text(
        "forks:\n"
        "  - {id: x-1, language: en, product: deposit_ruihe_3y_cd, factor: returns_cost,\n"
        "     fact: 'A rate of 9% a year', paraphrase: 'Nine percent a year'}\n",
        encoding="utf-8",
    )
    with pytest.raises(mp.ProbeFileError, match=r"x-1: fact is not a en fact of deposit_ruihe"):
        mp.load_probes("dev", tmp_path)


def test_a_missing_field_and_an_unknown_product_are_named(tmp_path):
    (tmp_path / "dev.yaml").write_text(
        "forks:\n  - {id: x-2, language: en, product: p, factor: returns_cost, fact: f}\n",
        encoding="utf-8",
    )
    with pytest.raises(mp.ProbeFileError, match=r"item 0 \(x-2\): missing \['paraphrase'\]"):
        mp.load_probes("dev", tmp_path)
    (tmp_path / "dev.yaml").write_text(
        "forks: []\nunsupported_claims:\n  - {id: c-1, language: zh, product: nope, claim: 好}\n",
        encoding="utf-8",
    )
    with pytest.raises(mp.ProbeFileError, match=r"c-1: unknown product 'nope'"):
        mp.load_probes("dev", tmp_path)


def test_the_benchmark_plays_forks_and_claims_in_lexical_mode(splits):
    answers, claims = mp.run_probe(splits["dev"], ["lexical"], LANGUAGES, limit=2, max_rounds=6)
    assert len(answers) == 2 * 2 * len(mp.KINDS)
    assert len(claims) == 2 * 2
    for result in answers:
        assert result.understanding == "lexical"
        assert result.asked_ok, result  # the first question was about the fork's factor
        assert -1.0 <= result.delta_intent <= 1.0
        assert 0.0 <= result.final <= 10.0
    by_kind = {k: [r for r in answers if r.kind == k] for k in mp.KINDS}
    # The lexical reading credits a verbatim fact and never an off-topic one; a credited
    # answer raises intent more than an off-topic one.
    assert all(r.credited and r.delta_intent > 0 for r in by_kind["verbatim"])
    assert not any(r.credited for r in by_kind["off_topic"])
    assert max(r.delta_intent for r in by_kind["off_topic"]) < min(
        r.delta_intent for r in by_kind["verbatim"]
    )
    assert all(isinstance(c.flagged, bool) for c in claims)
    table = mp.answer_table(answers)
    assert "| lexical | en | verbatim | 2 | 100% |" in table
    assert "| lexical | zh | off_topic | 2 | 0% |" in table
    assert "| lexical | en | 2 |" in mp.claim_table(answers, claims)


def test_main_prints_both_tables(capsys):
    mp.main(["--split", "dev", "--understanding", "lexical", "--language", "en", "--limit", "1"])
    out = capsys.readouterr().out
    assert "1 forks x 3 answers, 1 claim readings" in out
    assert "| lexical | en | paraphrase | 1 |" in out
    assert "| understanding | lang | unsupported | flagged | supported | false-flagged |" in out
