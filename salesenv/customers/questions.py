"""What kind of product a scenario sells, and the questions a customer asks about it.

A *kind* (physical goods, digital goods, a service, a financial product, insurance) decides
how the persona customer words its question about each decision factor: a customer of an
e-book store asks how soon it gets access, never which courier brings it; an insurance
customer asks what the cover includes, never what it is made of. A kind, and a built-in
category on top of it, may also *exclude* factors that do not apply to it at all (a bank
deposit has no "quality" apart from its rate): the customer then never asks about them.

Where the kind comes from:

- Built-in products: the category's `kind:` in `salesenv/scenarios/data/categories/*.yaml`,
  or the product's own `kind:` where a category mixes kinds (an e-ink reader in the e-book
  category); the category's `excludes:` list adds to the kind's.
- Any other product (public SalesLLM scripts): keyword rules on its category, name and
  facts (`infer_kind`, rules in `data/questions.yaml`); a product they do not place gets
  the general bank, whose questions fit any product.

The questions live in `salesenv/customers/data/questions.yaml`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from importlib import resources

import yaml

from salesenv.customers.profile import CustomerProfile, build_profile
from salesenv.scenarios.portfolio_scenarios import PortfolioScenario
from salesenv.scenarios.scenario import FACTORS, Product, Scenario
from salesenv.scenarios.seed import load_seed

KINDS = ("physical", "digital", "service", "financial", "insurance")
#: The kind of a product no rule places; its questions fit any product.
GENERAL = "general"
_FINANCE_KINDS = ("financial", "insurance")
_CATEGORY_NOISE = re.compile(r"(?<![a-z])and(?![a-z])|[\s_&/,.\-与和及]+")


@dataclass(frozen=True)
class ProductKind:
    """The kind of product a scenario sells and the decision factors that do not apply.

    Attributes:
        kind: One of `KINDS`, or `GENERAL` when nothing says which.
        excludes: Factors the customer never asks about (the kind's plus the category's).
    """

    kind: str
    excludes: frozenset[str] = frozenset()


@functools.cache
def _data() -> dict:
    path = resources.files("salesenv.customers") / "data" / "questions.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for kind in (GENERAL, *data["banks"]):
        for lang, bank in (data["general"] if kind == GENERAL else data["banks"][kind]).items():
            unknown = set(bank) - set(FACTORS)
            if unknown:
                raise ValueError(
                    f"salesenv/customers/data/questions.yaml: {kind}.{lang} has unknown "
                    f"factors {sorted(unknown)}; use the ids in salesenv/data/cues.yaml"
                )
    return data


@functools.cache
def question_bank(kind: str, language: str) -> dict[str, tuple[str, ...]]:
    """The customer's question templates per factor for one kind of product.

    Args:
        kind: One of `KINDS` or `GENERAL`.
        language: "zh" or "en".

    Returns:
        Every factor mapped to its templates (with a `{product}` slot): the kind's own
        questions where it has them, else the general ones.
    """
    data = _data()
    if kind != GENERAL and kind not in data["banks"]:
        raise ValueError(f"unknown product kind {kind!r}; expected one of {KINDS} or {GENERAL!r}")
    own = data["banks"][kind][language] if kind != GENERAL else {}
    general = data["general"][language]
    return {f: tuple(own.get(f) or general[f]) for f in FACTORS}


def all_questions(language: str) -> list[tuple[str, str]]:
    """Every (factor, template) pair of every kind in one language (for readers of
    transcripts that need to recognise the customer's questions)."""
    pairs = {
        (factor, t)
        for kind in (GENERAL, *KINDS)
        for factor, templates in question_bank(kind, language).items()
        for t in templates
    }
    return sorted(pairs)


def kind_excludes(kind: str) -> frozenset[str]:
    """The factors a kind excludes on its own (categories may add more)."""
    if kind == GENERAL:
        return frozenset()
    return frozenset(_data()["kinds"][kind].get("excludes") or ())


@functools.cache
def builtin_kinds() -> dict[str, ProductKind]:
    """The kind of every built-in product, by product id, from the category YAML files.

    Raises:
        ValueError: If a category or product names an unknown kind or factor.
    """
    seed = load_seed()
    kinds: dict[str, ProductKind] = {}
    for product in seed.products:
        category = seed.categories[product["category"]]
        kind = product.get("kind") or category.get("kind")
        if kind not in KINDS:
            raise ValueError(
                f"category {category['id']!r} (product {product['id']!r}) has kind {kind!r}; "
                f"add `kind:` with one of {KINDS} to salesenv/scenarios/data/categories/*.yaml"
            )
        excludes = frozenset(category.get("excludes") or ()) | kind_excludes(kind)
        if not excludes <= set(FACTORS):
            raise ValueError(
                f"category {category['id']!r}: unknown factors in excludes "
                f"{sorted(excludes - set(FACTORS))}"
            )
        kinds[product["id"]] = ProductKind(kind, excludes)
    return kinds


def _matcher(words: list[str], language: str) -> re.Pattern[str]:
    body = "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])" if language == "en" else body)


@functools.cache
def _rule(*path: str) -> re.Pattern[str]:
    """One pattern for a rule's words in both languages."""
    node = _data()["rules"]
    for key in path:
        node = node[key]
    return re.compile("|".join(_matcher(node[lang], lang).pattern for lang in ("en", "zh")))


def _normalise(category: str) -> str:
    return _CATEGORY_NOISE.sub("", category.lower())


@functools.cache
def _builtin_categories() -> dict[str, str]:
    """Every spelling of a built-in category (id, English and Chinese name), normalised,
    mapped to the kind all its products share, or `GENERAL` when they differ."""
    seed = load_seed()
    kinds = builtin_kinds()
    found = {}
    for cid, category in seed.categories.items():
        shared = {kinds[p["id"]].kind for p in seed.products_in(cid)}
        kind = shared.pop() if len(shared) == 1 else GENERAL
        for spelling in (cid, category["name"]["en"], category["name"]["zh"]):
            found[_normalise(spelling)] = kind
    return found


def infer_kind(category: str, name: str, facts: str = "", finance: bool = False) -> str:
    """The kind of a product outside the built-in catalogue, by keyword rules.

    In order: a finance product (``finance`` or a financial category) is insurance when
    its name or category names insurance or its facts use insurance-only words, else
    financial; a name that says digital or service decides next; then the category, read
    as a built-in category (by id or name, either language; `GENERAL` when that category's
    products differ in kind) or by the category word lists; else `GENERAL`.

    Args:
        category: The product's category as its sheet states it ("" when none).
        name: The product's name.
        facts: The product's facts, joined (only read for finance products).
        finance: Whether the loader already took it for a financial product.
    """
    category_l, name_l = category.lower(), name.lower()
    if finance or _rule("category", "financial").search(category_l):
        if _rule("insurance_name").search(f"{category_l} {name_l}"):
            return "insurance"
        return "insurance" if _rule("insurance_facts").search(facts.lower()) else "financial"
    for kind in ("digital", "service"):
        if _rule("name", kind).search(name_l):
            return kind
    if category.strip():
        builtin = _builtin_categories().get(_normalise(category))
        if builtin is not None:
            return builtin
        for kind in ("financial", "digital", "service", "physical"):
            if _rule("category", kind).search(category_l):
                return kind
    return GENERAL


def _kind_of_product(product: Product, source: str) -> ProductKind:
    builtin = builtin_kinds().get(product.id)
    if builtin is not None and source == "salesenv":
        return builtin
    kind = infer_kind(
        product.category_name or product.category,
        product.name,
        " ".join(f.text for f in product.facts),
        finance=product.domain == "finance",
    )
    return ProductKind(kind, kind_excludes(kind))


@functools.lru_cache(maxsize=4096)
def product_kind(scenario: Scenario) -> ProductKind:
    """The kind of product a scenario sells (cached per scenario).

    A portfolio scenario has the kind its fitting products share (else `GENERAL`) and
    the exclusions they all share; a scenario without a product sheet is `GENERAL`.
    """
    if isinstance(scenario, PortfolioScenario):
        found = [_kind_of_product(p, scenario.source) for p in scenario.fitting_products]
        kinds = {k.kind for k in found}
        excludes = frozenset.intersection(*(k.excludes for k in found)) if found else frozenset()
        return ProductKind(kinds.pop() if len(kinds) == 1 else GENERAL, excludes)
    if scenario.product is None:
        return ProductKind(GENERAL)
    return _kind_of_product(scenario.product, scenario.source)


def fit_profile(profile: CustomerProfile, scenario: Scenario) -> CustomerProfile:
    """The profile without the factors the product's kind excludes: its decision factors,
    pain points, motivations and follow-up factors keep only those that apply (at least one
    decision factor stays, the first factor that applies)."""
    excludes = product_kind(scenario).excludes
    if not excludes:
        return profile
    factors = tuple(f for f in profile.decision_factors if f not in excludes)
    motivations = profile.motivations
    persona = scenario.persona
    if persona is not None and len(persona.motivations) == len(motivations):
        motivations = tuple(m.text for m in persona.motivations if m.factor not in excludes)
    return replace(
        profile,
        decision_factors=factors or (next(f for f in FACTORS if f not in excludes),),
        motivations=motivations,
        pain_points=tuple(p for p in profile.pain_points if p.factor not in excludes),
        follow_up_factors=profile.follow_up_factors - excludes,
    )


@functools.lru_cache(maxsize=4096)
def product_profile(scenario: Scenario) -> CustomerProfile:
    """`build_profile` fitted to the product's kind (cached per scenario)."""
    return fit_profile(build_profile(scenario), scenario)
