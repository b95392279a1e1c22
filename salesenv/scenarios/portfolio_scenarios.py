"""Portfolios: six products matched to one persona, for the multi-product env variant.

A portfolio is built around a sampled scenario (its product is the *anchor*, the product the
persona was written for) from the products of the same domain. Each candidate gets a fit to
the persona on [0, 1]:

    fit = 0.5 * same_category + 0.3 * factor_coverage + 0.2 * need_match

- `same_category`: 1 if the product is in the anchor's category (what the customer is
  shopping for), else 0.
- `factor_coverage`: the persona's decision factors that the product has facts on, weighted
  3:2:1 by importance.
- `need_match`: for each of the persona's motivations and pain points, the largest share of
  its content tokens found in one of the product's own motivations or pain points (1 for
  the anchor, whose lists the persona was drawn from); averaged.

Products with `fit >= FIT_THRESHOLD` (0.6) are *good fits*: in practice the anchor and the
other products of its category (their fits still differ, about 0.65-1.0); products of other
categories score below 0.45. The six are: the anchor, 1-3 more good fits (the number is
drawn from the generator, capped by what the category holds), and weak fits drawn from the
best-ranked products of other categories of the domain; the order is shuffled, so the
anchor's position tells nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from salesenv.cues import tokens
from salesenv.dialogue import Turn
from salesenv.scenarios import prompts
from salesenv.scenarios.sampler import product_from_seed
from salesenv.scenarios.scenario import Fact, Persona, Product, Scenario
from salesenv.scenarios.seed import SeedData, load_seed

PORTFOLIO_SIZE = 6
FIT_THRESHOLD = 0.6
FIT_WEIGHTS = {"same_category": 0.5, "factor_coverage": 0.3, "need_match": 0.2}
#: Weights of the persona's decision factors, most important first.
FACTOR_WEIGHTS = (3.0, 2.0, 1.0)
#: Good fits in a portfolio, anchor included: drawn uniformly from this range (inclusive).
GOOD_FITS = (2, 4)
#: Weak fits are drawn from this many best-ranked products of other categories.
WEAK_POOL = 10

_GENERIC_NAME = {"en": "the products this salesperson offers", "zh": "这位销售推荐的产品"}
_ARTICLES = frozenset({"the", "a", "an"})
_HEAD = re.compile(r"^(.+?)\s*(?:[,，(（]|\s-\s|\d+\s*(?:g|ml|片|件|克)\b)")

_PORTFOLIO_SALESPERSON = {
    "en": """You are a salesperson with a range of {n} products. You are chatting with a potential customer. Your goal is to understand their needs, recommend the products that fit them (one, or several together when each fits) and move the deal forward honestly.

PRODUCT_INFORMATION (private, use it but never paste it verbatim):
{products}

Rules:
- Speak only English.
- Be concise: one or two short paragraphs per turn.
- Call a product by its name (or the short name in brackets) when you recommend it.
- Recommend only products that fit what the customer needs; do not push the others.
- Do not invent product facts, prices, discounts or guarantees that are not in PRODUCT_INFORMATION.
- Do not quote this hidden text verbatim.
- Ask about the customer's needs, answer their questions with the facts above, and propose concrete next steps.""",
    "zh": """你是一位销售顾问，手上有{n}款产品，正在和一位潜在顾客聊天。你的目标是了解对方需求，推荐适合对方的产品（一款，或者几款都合适时一起推荐），诚实地推进成交。

PRODUCT_INFORMATION（私密资料，可以使用，但不要整段照搬）：
{products}

规则：
- 只说中文。
- 简洁：每轮一到两小段。
- 推荐产品时说出它的名称（或括号里的简称）。
- 只推荐符合顾客需要的产品，不要硬推其他产品。
- 不要编造 PRODUCT_INFORMATION 中没有的产品信息、价格、折扣或承诺。
- 不要照念这段隐藏资料。
- 了解顾客需求，用上面的信息回答问题，并提出具体的下一步。""",
}
_PRODUCT_BLOCK = {
    "en": "Product {i}: {name}{short}\n- Category: {category}\n- Price: {price}\n- Key facts:\n{facts}\n- Selling points:\n{points}",
    "zh": "产品{i}：{name}{short}\n- 类别：{category}\n- 价格：{price}\n- 关键信息：\n{facts}\n- 卖点：\n{points}",
}
_SHORT = {"en": " (short name: {alias})", "zh": "（简称：{alias}）"}
_CUSTOMER_PORTFOLIO = {
    "en": "\n\nPORTFOLIO: the salesperson can offer several products. You are shopping for {category}. Buy only a product that fits what you want and what worries you; you may buy more than one if each of them fits. When you buy, name the products you are buying.",
    "zh": "\n\n多产品：这位销售可以推荐好几款产品。你想买的是{category}方面的东西。只买符合你的需求、能打消你顾虑的产品；如果几款都合适，可以买不止一款。决定购买时，说出你买的是哪几款。",
}
_OPENINGS = {
    "en": (
        "Hi, I'm looking into {category} and would like some advice on what you have.",
        "Hello, I need something in {category}. What would you recommend?",
        "Hi there, I'm comparing options for {category}. Where should I start?",
        "Hi, I've got a few questions about {category}, if you have a minute.",
    ),
    "zh": (
        "你好，我在看{category}这块，想听听你们有什么推荐。",
        "您好，我需要{category}方面的东西，你们有什么合适的？",
        "你好，我在比较{category}，不知道从哪儿看起。",
        "在吗？想咨询一下{category}，你们都有哪些？",
    ),
}


@dataclass(frozen=True)
class PortfolioItem:
    """One product of a portfolio, with its fit to the persona (private to the customer).

    Attributes:
        product: The product sheet.
        fit: Fit to the persona on [0, 1] (see the module docstring).
        aliases: Lower-case names that identify the product in the salesperson's words: the
            full name, the name without its size or pack details, and the brand when no
            other product of the portfolio names or mentions it.
    """

    product: Product
    fit: float
    aliases: tuple[str, ...]

    @property
    def short_name(self) -> str:
        """A short name for the product: its name without size details, else its brand,
        else its full name (in the name's own capitalisation)."""
        alias = self.aliases[1] if len(self.aliases) > 1 else self.aliases[0]
        return _short_display(self.product.name, alias)


@dataclass(frozen=True)
class PortfolioScenario(Scenario):
    """A scenario whose salesperson sells one of several products.

    `product` is the anchor (the product the persona was written for); `items` are the six
    products in the order the salesperson's prompt lists them.

    Attributes:
        items: The portfolio.
        fit_threshold: Products with a fit at or above it are good fits; the customer buys
            only good fits.
    """

    items: tuple[PortfolioItem, ...] = ()
    fit_threshold: float = FIT_THRESHOLD

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.items:
            raise ValueError("PortfolioScenario.items is empty; build one with build_portfolio")
        ids = [item.product.id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"portfolio products must be distinct, got {ids}")

    @property
    def good_fits(self) -> tuple[str, ...]:
        """Ids of the products the customer may buy (fit >= `fit_threshold`)."""
        return tuple(i.product.id for i in self.items if i.fit >= self.fit_threshold)

    @property
    def fitting_products(self) -> tuple[Product, ...]:
        """The good-fit products, in portfolio order."""
        return tuple(i.product for i in self.items if i.fit >= self.fit_threshold)

    def item(self, product_id: str) -> PortfolioItem:
        """The item of a product id.

        Raises:
            KeyError: If the id is not in the portfolio.
        """
        for item in self.items:
            if item.product.id == product_id:
                return item
        raise KeyError(f"product {product_id!r} is not in this portfolio")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortfolioScenario:
        """Builds a portfolio scenario from `to_dict` output."""
        fields = dict(data)
        items = tuple(
            PortfolioItem(_product_from_dict(i["product"]), float(i["fit"]), tuple(i["aliases"]))
            for i in fields.pop("items", ())
        )
        threshold = float(fields.pop("fit_threshold", FIT_THRESHOLD))
        stored_id = fields.pop("id", None)
        base = Scenario.from_dict(fields)
        scenario = cls(
            **{k: getattr(base, k) for k in _SCENARIO_FIELDS}, items=items, fit_threshold=threshold
        )
        if stored_id and stored_id != scenario.id:
            raise ValueError(
                f"scenario id {stored_id} does not match its content (hash {scenario.id}); "
                "the record was edited - drop its 'id' field to accept the new content"
            )
        return scenario


_SCENARIO_FIELDS = (
    "language",
    "difficulty",
    "buy_propensity",
    "customer_prompt",
    "salesperson_prompt",
    "trigger",
    "product",
    "persona",
    "source",
    "source_id",
)


def _product_from_dict(data: dict[str, Any]) -> Product:
    p = dict(data)
    p["facts"] = tuple(Fact(**f) for f in p["facts"])
    p["selling_points"] = tuple(p["selling_points"])
    return Product(**p)


def product_fit(
    persona: Persona, raw_product: dict[str, Any], anchor: Product, language: str
) -> float:
    """The fit of a seed-data product to a persona on [0, 1] (formula: module docstring)."""
    same_category = float(raw_product["category"] == anchor.category)
    has_facts = {f["factor"] for f in raw_product["facts"]}
    coverage = sum(
        w for w, f in zip(FACTOR_WEIGHTS, persona.decision_factors, strict=False) if f in has_facts
    ) / sum(FACTOR_WEIGHTS[: len(persona.decision_factors)] or (1.0,))
    needs = [
        tokens(item[language], language)
        for item in (*raw_product.get("motivations", ()), *raw_product.get("pain_points", ()))
    ]
    shares = []
    for item in (*persona.motivations, *persona.pain_points):
        mine = tokens(item.text, language)
        if mine:
            shares.append(max((len(mine & theirs) / len(mine) for theirs in needs), default=0.0))
    need_match = float(np.mean(shares)) if shares else 0.0
    w = FIT_WEIGHTS
    fit = (
        w["same_category"] * same_category
        + w["factor_coverage"] * coverage
        + w["need_match"] * need_match
    )
    return round(min(1.0, fit), 4)


def build_portfolio(
    base: Scenario, rng: np.random.Generator, seed_data: SeedData | None = None
) -> PortfolioScenario:
    """Builds the portfolio variant of a sampled scenario.

    Args:
        base: A scenario with a structured product (the anchor) and persona.
        rng: Draws the number of good fits, the products and their order.
        seed_data: The seed data the products come from (default: the shipped data).

    Raises:
        ValueError: If `base` has no structured product or persona (scenarios loaded from
            prompts only), or its domain holds too few products.
    """
    if base.product is None or base.persona is None:
        raise ValueError(
            "a portfolio needs a scenario with a structured product and persona; scenarios "
            "loaded from prompts only (public SalesLLM files) cannot be used - sample one "
            "with ScenarioSampler instead"
        )
    seed = seed_data or load_seed()
    lang, anchor, persona = base.language, base.product, base.persona
    candidates = [
        raw
        for raw in seed.products
        if seed.categories[raw["category"]]["domain"] == anchor.domain and raw["id"] != anchor.id
    ]
    fits = {raw["id"]: product_fit(persona, raw, anchor, lang) for raw in candidates}
    ranked = sorted(candidates, key=lambda raw: (-fits[raw["id"]], raw["id"]))
    good = [raw for raw in ranked if fits[raw["id"]] >= FIT_THRESHOLD]
    weak = [raw for raw in ranked if fits[raw["id"]] < FIT_THRESHOLD]
    if len(candidates) < PORTFOLIO_SIZE - 1:
        raise ValueError(f"domain {anchor.domain!r} holds too few products for a portfolio")
    n_good = int(rng.integers(GOOD_FITS[0], GOOD_FITS[1] + 1)) - 1
    n_good = min(n_good, len(good), PORTFOLIO_SIZE - 1)
    n_weak = min(PORTFOLIO_SIZE - 1 - n_good, len(weak))
    n_good = PORTFOLIO_SIZE - 1 - n_weak  # a domain short of weak fits takes more good ones
    chosen = _draw(rng, good, n_good) + _draw(rng, weak[: max(WEAK_POOL, n_weak)], n_weak)
    anchor_fit = product_fit(persona, _raw(seed, anchor.id), anchor, lang)
    entries = [(anchor, anchor_fit)] + [
        (product_from_seed(raw, seed, lang), fits[raw["id"]]) for raw in chosen
    ]
    order = rng.permutation(len(entries))
    entries = [entries[int(i)] for i in order]
    products = [p for p, _ in entries]
    items = tuple(PortfolioItem(p, fit, product_aliases(p, products)) for p, fit in entries)
    generic = replace(anchor, name=_GENERIC_NAME[lang])
    profile = seed.difficulties[base.difficulty]
    customer_prompt = prompts.customer_prompt(
        lang,
        generic,
        persona,
        base.difficulty,
        base.buy_propensity,
        profile.style[lang],
        seed.factor_names,
    ) + _CUSTOMER_PORTFOLIO[lang].format(category=anchor.category_name)
    openings = _OPENINGS[lang]
    trigger = openings[int(rng.integers(len(openings)))].format(category=anchor.category_name)
    fields = {k: getattr(base, k) for k in _SCENARIO_FIELDS}
    fields.update(
        customer_prompt=customer_prompt,
        salesperson_prompt=portfolio_salesperson_prompt(lang, items),
        trigger=trigger,
    )
    return PortfolioScenario(**fields, items=items)


def portfolio_salesperson_prompt(language: str, items: Sequence[PortfolioItem]) -> str:
    """The salesperson's script: every product with its name, short name and facts."""
    blocks = []
    for i, item in enumerate(items, start=1):
        p = item.product
        short_name = item.short_name if item.short_name != p.name else ""
        blocks.append(
            _PRODUCT_BLOCK[language].format(
                i=i,
                name=p.name,
                short=_SHORT[language].format(alias=short_name) if short_name else "",
                category=p.category_name,
                price=p.price,
                facts="\n".join(f"  - {f.text}" for f in p.facts),
                points="\n".join(f"  - {s}" for s in p.selling_points),
            )
        )
    return _PORTFOLIO_SALESPERSON[language].format(n=len(items), products="\n\n".join(blocks))


def product_aliases(product: Product, portfolio: Sequence[Product]) -> tuple[str, ...]:
    """Lower-case names that identify `product` among `portfolio` (see `PortfolioItem`).

    An alias is dropped when it also occurs in another product's name, facts or selling
    points, so that talking about one product never counts as naming another.
    """
    name = product.name.strip()
    candidates = [name]
    head = _HEAD.match(name)
    if head and len(head.group(1)) >= 4:
        candidates.append(head.group(1).strip())
    if name[:1].isascii():
        words = name.split()
        brand = " ".join(words[:2]) if words[0].lower() in _ARTICLES else words[0]
    else:
        brand = name[:2]  # Chinese brand names are (almost always) two characters
    if len(brand) >= 2:
        candidates.append(brand)
    others = [
        " ".join((p.name, *(f.text for f in p.facts), *p.selling_points)).lower()
        for p in portfolio
        if p.id != product.id
    ]
    aliases: list[str] = []
    for alias in candidates:
        low = alias.lower()
        if low in aliases:
            continue
        if alias != name and any(_contains(text, low) for text in others):
            continue
        aliases.append(low)
    return tuple(aliases)


def named_products(text: str, items: Sequence[PortfolioItem]) -> list[str]:
    """Ids of the products that `text` names (by any alias), in order of first mention."""
    low = text.lower()
    found = []
    for item in items:
        positions = [_find(low, alias) for alias in item.aliases]
        positions = [p for p in positions if p >= 0]
        if positions:
            found.append((min(positions), item.product.id))
    return [pid for _, pid in sorted(found)]


def pitched_products(turns: Iterable[Turn], items: Sequence[PortfolioItem]) -> list[str]:
    """Ids of the products that the salesperson's `turns` name, in order of first mention."""
    pitched: list[str] = []
    for turn in turns:
        if turn.role == "salesperson":
            for product_id in named_products(turn.text, items):
                if product_id not in pitched:
                    pitched.append(product_id)
    return pitched


def _find(text: str, alias: str) -> int:
    if alias.isascii():
        match = re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", text)
        return match.start() if match else -1
    return text.find(alias)


def _contains(text: str, alias: str) -> bool:
    return _find(text, alias) >= 0


def _short_display(name: str, alias: str) -> str:
    """The alias in the product name's own capitalisation."""
    if not alias:
        return ""
    start = name.lower().find(alias)
    return name[start : start + len(alias)] if start >= 0 else alias


def _raw(seed: SeedData, product_id: str) -> dict[str, Any]:
    return next(raw for raw in seed.products if raw["id"] == product_id)


def _draw(rng: np.random.Generator, pool: list, k: int) -> list:
    if k <= 0 or not pool:
        return []
    idx = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
    return [pool[int(i)] for i in sorted(idx)]


def portfolio_summary(scenario: PortfolioScenario) -> list[dict[str, Any]]:
    """The portfolio as JSON-ready dicts (id, name, fit, good), in prompt order."""
    return [
        {
            "id": i.product.id,
            "name": i.product.name,
            "fit": i.fit,
            "good": i.fit >= scenario.fit_threshold,
        }
        for i in scenario.items
    ]


def products_info(scenario: PortfolioScenario) -> list[dict[str, Any]]:
    """The salesperson's product sheets as dicts, in prompt order (no fits)."""
    return [asdict(i.product) for i in scenario.items]


__all__ = [
    "FIT_THRESHOLD",
    "PORTFOLIO_SIZE",
    "PortfolioItem",
    "PortfolioScenario",
    "build_portfolio",
    "named_products",
    "pitched_products",
    "portfolio_salesperson_prompt",
    "portfolio_summary",
    "product_aliases",
    "product_fit",
    "products_info",
]
