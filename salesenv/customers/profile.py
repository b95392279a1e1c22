"""The customer's view of a scenario, as the persona simulator needs it."""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, replace

from salesenv.cues import FactSheet, lexicon
from salesenv.scenarios.portfolio_scenarios import PortfolioScenario
from salesenv.scenarios.scenario import FACTORS, Fact, Scenario

_SENTENCE = re.compile(r"[^\n。！？!?;；]+")
_PRODUCT_LINE = re.compile(r"(?:Product|产品)\s*[:：]\s*(.+)")
_GENERIC_FACTORS = ("returns_cost", "core_quality", "support_after_sales")
_GENERIC_PRODUCT = {"en": "this product", "zh": "这个产品"}
#: Decision factors of a public script's customer (built-in personas hold 3); the others
#: its script names are asked about after them when the product speaks to them.
SCRIPT_TOP_FACTORS = 3


@dataclass(frozen=True)
class CustomerProfile:
    """What drives the simulated customer, plus the product sheet it checks claims against.

    Attributes:
        language: The scenario's language.
        difficulty: The difficulty id.
        buy_propensity: The starting purchase intent.
        product_name: The product the conversation is about.
        decision_factors: Factor ids, most important first.
        motivations: Phrases of what the customer wants.
        pain_points: The customer's worries, tagged with factors.
        follow_up_factors: Factors the customer may ask about after its decision factors:
            those the product information has facts about (for a public script, only those
            its script names).
        sheet: Ground truth for checking the salesperson's claims.
        facts: The (factor, text) facts behind `sheet`, for reading by meaning.
        reference: All product information the salesperson was given (its prompt).
    """

    language: str
    difficulty: str
    buy_propensity: float
    product_name: str
    decision_factors: tuple[str, ...]
    motivations: tuple[str, ...]
    pain_points: tuple[Fact, ...]
    follow_up_factors: frozenset[str]
    sheet: FactSheet
    facts: tuple[tuple[str, str], ...] = ()
    reference: str = ""


@functools.lru_cache(maxsize=4096)
def fact_sheet(scenario: Scenario) -> FactSheet:
    """The product sheet of a scenario prepared for grounding checks (cached per scenario)."""
    return FactSheet.build(scenario.language, sheet_facts(scenario), scenario.salesperson_prompt)


@functools.lru_cache(maxsize=4096)
def sheet_facts(scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """The (factor, text) facts that answer the customer's questions (cached per scenario)."""
    if isinstance(scenario, PortfolioScenario):
        # Only facts of products that fit the customer answer its questions; the numbers
        # and wording of every product in the prompt count as supported.
        facts = [(f.factor, f.text) for p in scenario.fitting_products for f in p.facts]
    elif scenario.product is not None:
        facts = [(f.factor, f.text) for f in scenario.product.facts]
    else:
        lex = lexicon(scenario.language)
        facts = []
        for sentence in _SENTENCE.findall(scenario.salesperson_prompt):
            found = lex.factors_in(sentence)
            if found and len(sentence.strip()) > 4:
                facts.append((sorted(found)[0], sentence.strip(" -*•\t")))
    return tuple(facts)


@functools.lru_cache(maxsize=4096)
def build_profile(scenario: Scenario) -> CustomerProfile:
    """Builds the profile from the structured scenario (built-in scenarios, and public
    SalesLLM scripts whose product sheet and persona the loader read), or parses the parts
    it lacks from the two scripts (prompts-only scenarios)."""
    lang = scenario.language
    if scenario.product is not None and scenario.persona is not None:
        product, persona = scenario.product, scenario.persona
        products = (product,)
        name = product.name
        if isinstance(scenario, PortfolioScenario):
            # Several products: the customer says "this product" until one is named.
            products, name = scenario.fitting_products, _GENERIC_PRODUCT[lang]
        profile = CustomerProfile(
            language=lang,
            difficulty=scenario.difficulty,
            buy_propensity=scenario.buy_propensity,
            product_name=name,
            decision_factors=persona.decision_factors,
            motivations=tuple(m.text for m in persona.motivations),
            pain_points=persona.pain_points,
            follow_up_factors=frozenset(f.factor for p in products for f in p.facts),
            sheet=fact_sheet(scenario),
            facts=sheet_facts(scenario),
            reference=scenario.salesperson_prompt,
        )
        return _script_concerns(profile) if scenario.source == "salesllm" else profile
    if scenario.persona is not None:
        # A public script whose persona was read but whose product sheet was not: the
        # customer's side is structured, the product's is parsed from the prompt.
        persona = scenario.persona
        return _script_concerns(
            replace(
                _parse_profile(scenario),
                decision_factors=persona.decision_factors,
                motivations=tuple(m.text for m in persona.motivations),
                pain_points=persona.pain_points,
            )
        )
    return _parse_profile(scenario)


def _script_concerns(profile: CustomerProfile) -> CustomerProfile:
    """A public script's customer: its top `SCRIPT_TOP_FACTORS` named factors are its
    decision factors; the other factors its script names are what it asks about next, when
    the product information speaks to them (`follow_up_factors`, from which the persona
    customer draws its extra questions), so that it never asks about a concern its script
    does not name."""
    named = profile.decision_factors
    return replace(
        profile,
        decision_factors=named[:SCRIPT_TOP_FACTORS],
        follow_up_factors=profile.follow_up_factors & frozenset(named[SCRIPT_TOP_FACTORS:]),
    )


def _parse_profile(scenario: Scenario) -> CustomerProfile:
    lang = scenario.language
    lex = lexicon(lang)
    sheet = fact_sheet(scenario)
    counts: Counter[str] = Counter()
    pains = []
    for sentence in _SENTENCE.findall(scenario.customer_prompt):
        found = lex.factors_in(sentence)
        counts.update(sorted(found))  # most_common breaks ties by insertion order
        if found and lex.has("customer_objection", sentence):
            pains.append(Fact(sorted(found)[0], sentence.strip(" -*•\t")))
    ranked = [f for f, _ in counts.most_common()] + [f for f in _GENERIC_FACTORS if f not in counts]
    name_match = _PRODUCT_LINE.search(scenario.salesperson_prompt)
    return CustomerProfile(
        language=lang,
        difficulty=scenario.difficulty,
        buy_propensity=scenario.buy_propensity,
        product_name=name_match.group(1).strip() if name_match else _GENERIC_PRODUCT[lang],
        decision_factors=tuple(f for f in ranked if f in FACTORS)[:3],
        motivations=(),
        pain_points=tuple(pains[:3]),
        follow_up_factors=frozenset(f for f, _ in sheet.facts),
        sheet=sheet,
        facts=sheet_facts(scenario),
        reference=scenario.salesperson_prompt,
    )
