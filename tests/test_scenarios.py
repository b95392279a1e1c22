"""The sampler, scenario ids, scripts, suites and the size of the scenario space."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

import salesenv
from salesenv.scenarios import (
    DIFFICULTIES,
    Scenario,
    ScenarioSampler,
    build_suite,
    load_suite,
    write_suite,
)
from salesenv.scenarios.sampler import held_out
from salesenv.scenarios.space import count_distinct, sample_space


def test_same_seed_same_scenario(language):
    a = ScenarioSampler(language).sample(np.random.default_rng(11))
    b = ScenarioSampler(language).sample(np.random.default_rng(11))
    c = ScenarioSampler(language).sample(np.random.default_rng(12))
    assert a == b and a.id == b.id
    assert c.id != a.id


def test_id_is_a_content_hash(scenario):
    assert scenario.id.startswith("sc-") and len(scenario.id) == 19
    changed = dataclasses.replace(scenario, trigger=scenario.trigger + "!")
    assert changed.id != scenario.id
    assert dataclasses.replace(scenario, source_id="x").id == scenario.id


def test_round_trip_through_dict(scenario):
    assert Scenario.from_dict(scenario.to_dict()) == scenario


def test_edited_record_is_rejected(scenario):
    record = scenario.to_dict()
    record["trigger"] = "edited"
    with pytest.raises(ValueError, match="does not match its content"):
        Scenario.from_dict(record)


def test_scripts_are_in_the_scenario_language_and_keep_the_barrier(language):
    rng = np.random.default_rng(3)
    sampler = ScenarioSampler(language)
    for _ in range(50):
        s = sampler.sample(rng)
        assert s.persona is not None and s.product is not None
        for fact in s.product.facts:
            assert fact.text not in s.customer_prompt  # product facts stay with the salesperson
        assert s.product.price not in s.customer_prompt
        for private in (*s.persona.motivations, *s.persona.pain_points):
            assert private.text not in s.salesperson_prompt  # persona stays with the customer
        assert s.persona.occupation not in s.salesperson_prompt
        assert "CUSTOMER_INFORMATION" in s.customer_prompt
        assert "PRODUCT_INFORMATION" in s.salesperson_prompt
        assert s.product.name in s.trigger or s.product.category_name in s.trigger
        assert len(s.persona.decision_factors) == 3


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_difficulty_reaches_the_customer_prompt_only(difficulty):
    s = ScenarioSampler("en", difficulty).sample(np.random.default_rng(0))
    assert s.difficulty == difficulty
    assert f"Difficulty level: {difficulty}" in s.customer_prompt
    assert difficulty not in s.salesperson_prompt


def test_mixed_draws_every_difficulty():
    rng = np.random.default_rng(0)
    sampler = ScenarioSampler("zh", "mixed")
    counts = Counter(sampler.sample(rng).difficulty for _ in range(500))
    assert set(counts) == set(DIFFICULTIES)
    assert min(counts.values()) > 60


def test_bad_sampler_arguments():
    with pytest.raises(ValueError, match="language"):
        ScenarioSampler("fr")
    with pytest.raises(ValueError, match="difficulty"):
        ScenarioSampler("zh", "impossible")
    with pytest.raises(ValueError, match="domain"):
        ScenarioSampler("zh", domain="cars")


def test_builtin_suite_composition():
    suite = load_suite("salesllm-1805")
    assert len(suite) == 1805
    assert len({s.id for s in suite}) == 1805
    counts = Counter((s.language, s.difficulty) for s in suite)
    assert sum(n for (lang, _), n in counts.items() if lang == "zh") == 1000
    assert sum(n for (lang, _), n in counts.items() if lang == "en") == 805
    for difficulty in DIFFICULTIES:
        assert counts["zh", difficulty] == 200
        assert counts["en", difficulty] == 161
    assert len(suite.filter(language="en", difficulty="hard")) == 161


def test_shipped_suite_matches_the_sampler():
    """Seed data or sampler changes that would silently change the benchmark fail here;
    rebuild with `python examples/build_suite.py` when the change is intended."""
    assert build_suite().content_hash == load_suite("salesllm-1805").content_hash


def test_write_and_load_a_suite(tmp_path):
    scenarios = [ScenarioSampler("en").sample(np.random.default_rng(i)) for i in range(5)]
    for name in ("mine.jsonl", "mine.jsonl.gz"):
        path = write_suite(tmp_path / name, scenarios)
        assert list(load_suite(path)) == scenarios
    assert not list(tmp_path.glob(".*")), "no temporary files are left behind"


def test_unknown_suite_name():
    with pytest.raises(FileNotFoundError, match="salesllm-1805"):
        load_suite("salesllm-9999")


def test_load_suite_is_exported():
    assert salesenv.load_suite is load_suite


@pytest.mark.slow
def test_space_holds_more_than_the_papers_30074_scripts():
    report = count_distinct(sample_space(32_000, seed=0))
    assert report.unique_hashes == 32_000
    assert report.distinct >= 30_074


def test_near_duplicates_are_removed():
    base = sample_space(40, seed=1)
    near = [
        dataclasses.replace(s, customer_prompt=s.customer_prompt.replace("\n", "\n ", 1))
        for s in base
    ]
    report = count_distinct(base + near)
    assert report.unique_hashes == 80
    assert report.distinct == 40


def test_train_and_test_splits_hold_out_products_and_occupations():
    """The seeded split: disjoint products and occupations, about a fifth held out, every
    category still trainable, and no split means the same draws as before."""
    rng = np.random.default_rng
    train = ScenarioSampler("en", "mixed", split="train")
    test = ScenarioSampler("en", "mixed", split="test")
    train_ids = {s.product.id for s in (train.sample(rng(i)) for i in range(400))}
    test_ids = {s.product.id for s in (test.sample(rng(i)) for i in range(400))}
    assert train_ids and test_ids and not train_ids & test_ids
    every = {p["id"] for p in train.seed.products}
    held = {p for p in every if held_out(p)}
    assert 0.1 < len(held) / len(every) < 0.3
    assert test_ids <= held
    assert all(train._products[c] for cs in train._categories.values() for c in cs)
    occupations = {test.sample(rng(i)).persona.occupation for i in range(200)}
    assert all(held_out(o) for o in occupations)
    plain = ScenarioSampler("en", "mixed")
    assert plain.sample(rng(7)) == ScenarioSampler("en", "mixed", split=None).sample(rng(7))
    with pytest.raises(ValueError, match="split must be None or one of"):
        ScenarioSampler("en", split="validation")


def test_env_samples_from_its_split():
    env = salesenv.make("SalesLLM-zh-mixed", split="test")
    ids = set()
    for seed in range(30):
        env.reset(seed=seed)
        ids.add(env.unwrapped.scenario.product.id)
    assert all(held_out(i) for i in ids)
