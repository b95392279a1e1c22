"""Measures the scenario space: how many distinct scripts the sampler produces.

Distinct means a different content hash and no near-duplicate: two scenarios whose scripts
share at least `threshold` of their shingles (Jaccard, estimated with MinHash LSH) count
once. The comparison reads the customer's script and the trigger sentence: the
salesperson's script is a function of the product alone, the same for every scenario of
that product by design. Boilerplate, the lines that recur in more than `BOILERPLATE_SHARE`
of the scripts (role text, rules, headings), is removed first: it is the same in every
script and would make any two scripts look alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from math import prod

import numpy as np
from datasketch import MinHash, MinHashLSH

from salesenv.scenarios.sampler import (
    N_DECISION_FACTORS,
    N_MOTIVATIONS,
    N_PAIN_POINTS,
    ScenarioSampler,
)
from salesenv.scenarios.scenario import DIFFICULTIES, LANGUAGES, Scenario
from salesenv.scenarios.seed import load_seed

NEAR_DUPLICATE_JACCARD = 0.9
BOILERPLATE_SHARE = 0.5
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SpaceReport:
    """Counts from one pass over sampled scenarios."""

    candidates: int
    unique_hashes: int
    distinct: int
    threshold: float

    @property
    def near_duplicates(self) -> int:
        return self.unique_hashes - self.distinct


def script_lines(scenario: Scenario) -> list[str]:
    """The non-empty lines of the customer's script and the trigger sentence."""
    text = "\n".join((scenario.customer_prompt, scenario.trigger))
    return [line.strip() for line in text.splitlines() if line.strip()]


def shingles(scenario: Scenario, boilerplate: frozenset[str] = frozenset()) -> set[bytes]:
    """Character 4-grams (zh) or word 3-grams (en) of the script's non-boilerplate lines."""
    text = "\n".join(line for line in script_lines(scenario) if line not in boilerplate)
    if scenario.language == "zh":
        compact = re.sub(r"\s+", "", text)
        grams = {compact[i : i + 4] for i in range(len(compact) - 3)}
    else:
        words = _WORD.findall(text.lower())
        grams = {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
    return {g.encode("utf-8") for g in grams}


def count_distinct(
    scenarios: list[Scenario], threshold: float = NEAR_DUPLICATE_JACCARD, num_perm: int = 64
) -> SpaceReport:
    """Counts scenarios that are distinct by content hash and not near-duplicates."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    unique: dict[str, Scenario] = {}
    for scenario in scenarios:
        unique.setdefault(scenario.id, scenario)
    ids = list(unique)
    line_counts = Counter(line for s in unique.values() for line in set(script_lines(s)))
    limit = BOILERPLATE_SHARE * len(unique)
    boilerplate = frozenset(line for line, n in line_counts.items() if n > limit)
    sketches = MinHash.bulk(
        [list(shingles(unique[i], boilerplate)) for i in ids], num_perm=num_perm
    )
    distinct = 0
    for scenario_id, sketch in zip(ids, sketches, strict=True):
        if lsh.query(sketch):
            continue
        lsh.insert(scenario_id, sketch)
        distinct += 1
    return SpaceReport(len(scenarios), len(unique), distinct, threshold)


def sample_space(n: int, seed: int = 0) -> list[Scenario]:
    """`n` scenarios drawn evenly over both languages and all difficulties."""
    rng = np.random.default_rng(seed)
    samplers = [ScenarioSampler(lang) for lang in LANGUAGES]
    out = []
    for i in range(n):
        out.append(
            samplers[i % 2].sample(rng, difficulty=DIFFICULTIES[(i // 2) % len(DIFFICULTIES)])
        )
    return out


def combinatorial_size() -> int:
    """An upper bound on the sampler's space: every product, persona attribute, enrichment
    and difficulty combination, per language, before near-duplicate removal."""
    from math import comb

    seed = load_seed()
    personas = seed.personas
    total = 0
    for lang in LANGUAGES:
        persona = prod(
            (
                len(personas["age_groups"]),
                len(personas["genders"]),
                len(personas["cities"][lang]),
                len(personas["occupations"][lang]),
                len(personas["communication_styles"]),
            )
        )
        for product in seed.products:
            category = seed.categories[product["category"]]
            motivations = product.get("motivations") or category["motivations"]
            pains = product.get("pain_points") or category["pain_points"]
            enrichment = (
                comb(len(motivations), N_MOTIVATIONS)
                * comb(len(pains), N_PAIN_POINTS)
                * comb(10, N_DECISION_FACTORS)
                * prod(range(1, N_DECISION_FACTORS + 1))
            )
            total += persona * enrichment * len(DIFFICULTIES) * len(seed.openings[lang])
    return total
