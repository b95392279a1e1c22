"""The hierarchical scenario sampler: base draw -> product-conditioned enrichment -> scripts."""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

from salesenv.scenarios import prompts
from salesenv.scenarios.scenario import (
    DIFFICULTIES,
    FACTORS,
    LANGUAGES,
    Fact,
    Persona,
    Product,
    Scenario,
)
from salesenv.scenarios.seed import SeedData, load_seed

# DESIGN.md does not give the paper's difficulty shares; salesenv uses equal shares and
# documents it (README). Pass `mix=` to change them.
DIFFICULTY_MIX: Mapping[str, float] = {d: 1 / len(DIFFICULTIES) for d in DIFFICULTIES}
DOMAINS = ("finance", "consumer")
N_MOTIVATIONS = 2
N_PAIN_POINTS = 2
N_DECISION_FACTORS = 3
#: The seeded train/test split (`ScenarioSampler(split=...)`): a product, or an occupation
#: of the persona pool, is held out for testing when the CRC-32 of SPLIT_SALT + its id (the
#: occupation's text) falls in the first TEST_PERCENT of 100. Changing the salt or the
#: share makes a new split; records name neither, so keep them fixed.
SPLITS = ("train", "test")
SPLIT_SALT = "salesenv-split-v1"
TEST_PERCENT = 20


def held_out(key: str) -> bool:
    """Whether the product id or occupation `key` belongs to the test split."""
    return zlib.crc32(f"{SPLIT_SALT}:{key}".encode()) % 100 < TEST_PERCENT


class ScenarioSampler:
    """Samples scenarios for one language.

    The draw is hierarchical: a domain (finance or consumer goods, equal odds), a category,
    a product, a persona (age group, gender, city, occupation, communication style) and a
    difficulty; then a product-conditioned enrichment (motivations and pain points written
    for the product, decision factors weighted towards the ones the product's facts and the
    chosen pain points bear on); then the two scripts and the trigger sentence.

    Args:
        language: "zh" or "en".
        difficulty: A difficulty id, or "mixed" to draw one from `mix`.
        domain: Restrict to "finance" or "consumer"; None draws both.
        mix: Difficulty shares used when `difficulty == "mixed"`.
        seed_data: Seed data to sample from (defaults to the shipped data).
        split: None (every product and persona), "train" or "test": draw only from the
            products and persona occupations of that side of the seeded split (`held_out`:
            about 20% of products and occupations are test). A category keeps at least one
            training product; a category without test products is never drawn for "test".
            Train on "train" and evaluate on "test" to measure generalisation to unseen
            products, not memorised ones.

    Raises:
        ValueError: On an unknown language, difficulty, domain or split.
    """

    def __init__(
        self,
        language: str,
        difficulty: str = "mixed",
        domain: str | None = None,
        mix: Mapping[str, float] | None = None,
        seed_data: SeedData | None = None,
        split: str | None = None,
    ) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
        if difficulty != "mixed" and difficulty not in DIFFICULTIES:
            raise ValueError(
                f"difficulty must be 'mixed' or one of {DIFFICULTIES}, got {difficulty!r}"
            )
        if domain is not None and domain not in DOMAINS:
            raise ValueError(f"domain must be None or one of {DOMAINS}, got {domain!r}")
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be None or one of {SPLITS}, got {split!r}")
        self.split = split
        self.language = language
        self.difficulty = difficulty
        self.seed = seed_data or load_seed()
        mix = dict(mix or DIFFICULTY_MIX)
        unknown = set(mix) - set(DIFFICULTIES)
        if unknown or not mix or min(mix.values()) < 0 or sum(mix.values()) <= 0:
            raise ValueError(f"mix must map difficulties {DIFFICULTIES} to shares >= 0, got {mix}")
        total = sum(mix.values())
        self._mix_ids = list(mix)
        self._mix_p = np.array([mix[d] / total for d in self._mix_ids])
        domains = DOMAINS if domain is None else (domain,)
        self._categories = {
            d: [c for c, info in self.seed.categories.items() if info["domain"] == d]
            for d in domains
        }
        self._products = {
            c: self.seed.products_in(c) for cs in self._categories.values() for c in cs
        }
        self._occupations = self.seed.personas["occupations"][language]
        if split is not None:
            self._apply_split(split)

    def _apply_split(self, split: str) -> None:
        """Keeps only the products and occupations of one side of the split."""
        for category, products in self._products.items():
            ordered = sorted(products, key=lambda p: p["id"])
            test = [p for p in ordered if held_out(p["id"])]
            if len(test) == len(ordered):
                test = test[1:]  # a category keeps one training product
            chosen = test if split == "test" else [p for p in ordered if p not in test]
            self._products[category] = [p for p in products if p in chosen]
        for domain, categories in self._categories.items():
            self._categories[domain] = [c for c in categories if self._products[c]]
        self._categories = {d: cs for d, cs in self._categories.items() if cs}
        occupations = [o for o in self._occupations if held_out(o) == (split == "test")]
        self._occupations = occupations or self._occupations

    def sample(self, rng: np.random.Generator, difficulty: str | None = None) -> Scenario:
        """Draws one scenario.

        Args:
            rng: The only source of randomness; equal generator states give equal scenarios.
            difficulty: Overrides the sampler's difficulty for this draw.
        """
        lang = self.language
        seed = self.seed
        domain = _pick(rng, list(self._categories))
        category_id = _pick(rng, self._categories[domain])
        category = seed.categories[category_id]
        raw_product = _pick(rng, self._products[category_id])
        difficulty = difficulty or self.difficulty
        if difficulty == "mixed":
            difficulty = self._mix_ids[int(rng.choice(len(self._mix_ids), p=self._mix_p))]
        profile = seed.difficulties[difficulty]
        personas = seed.personas

        product = product_from_seed(raw_product, seed, lang)
        # Product-level lists fit the product; category-level lists are the fallback.
        motivations = _pick_many(
            rng, raw_product.get("motivations") or category["motivations"], N_MOTIVATIONS
        )
        pains = _pick_many(
            rng, raw_product.get("pain_points") or category["pain_points"], N_PAIN_POINTS
        )
        weights = np.full(len(FACTORS), 0.5)
        for i, factor in enumerate(FACTORS):
            if any(f.factor == factor for f in product.facts):
                weights[i] += 3.0
            if any(item["factor"] == factor for item in (*motivations, *pains)):
                weights[i] += 2.0
        chosen = rng.choice(
            len(FACTORS), size=N_DECISION_FACTORS, replace=False, p=weights / weights.sum()
        )
        persona = Persona(
            age_group=_pick(rng, personas["age_groups"])[lang],
            gender=_pick(rng, personas["genders"])[lang],
            city=_pick(rng, personas["cities"][lang]),
            occupation=_pick(rng, self._occupations),
            motivations=tuple(Fact(m["factor"], m[lang]) for m in motivations),
            pain_points=tuple(Fact(p["factor"], p[lang]) for p in pains),
            decision_factors=tuple(FACTORS[int(i)] for i in chosen),
            communication=_pick(rng, personas["communication_styles"])[lang],
        )
        trigger = _pick(rng, seed.openings[lang]).format(
            product=product.name, category=product.category_name
        )
        return Scenario(
            language=lang,
            difficulty=difficulty,
            buy_propensity=profile.buy_propensity,
            customer_prompt=prompts.customer_prompt(
                lang,
                product,
                persona,
                difficulty,
                profile.buy_propensity,
                profile.style[lang],
                seed.factor_names,
            ),
            salesperson_prompt=prompts.salesperson_prompt(lang, product),
            trigger=trigger,
            product=product,
            persona=persona,
        )


def product_from_seed(raw: dict, seed: SeedData, language: str) -> Product:
    """The `Product` of a seed-data product record, in one language."""
    category = seed.categories[raw["category"]]
    return Product(
        id=raw["id"],
        domain=category["domain"],
        category=raw["category"],
        category_name=category["name"][language],
        name=raw["name"][language],
        price=raw["price"][language],
        facts=tuple(Fact(f["factor"], f[language]) for f in raw["facts"]),
        selling_points=tuple(s[language] for s in raw["selling_points"]),
    )


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _pick_many(rng: np.random.Generator, items: list, k: int) -> list:
    idx = rng.choice(len(items), size=min(k, len(items)), replace=False)
    return [items[int(i)] for i in sorted(idx)]
