"""Product-aware customer questions: kinds, exclusions, keyword rules, and what the persona
customer actually asks."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from salesenv.agents import ScriptedSalesAgent
from salesenv.cues import lexicon
from salesenv.customers.questions import (
    GENERAL,
    KINDS,
    ProductKind,
    all_questions,
    builtin_kinds,
    infer_kind,
    product_kind,
    product_profile,
    question_bank,
)
from salesenv.env import SalesEnv
from salesenv.evaluation import run_episode
from salesenv.scenarios.sampler import ScenarioSampler
from salesenv.scenarios.scenario import FACTORS, Fact, Product, Scenario
from salesenv.scenarios.seed import load_seed

LANGS = ("en", "zh")

# Topic words a question must never use for a kind of product (whole words in English).
_SHIPPED = {
    "en": ["ship", "shipping", "courier", "in stock", "dispatch", "delivery"],
    "zh": ["快递", "物流", "发货", "送货", "现货", "库存"],
}
_MADE = {
    "en": ["made of", "materials", "material", "durable", "warranty", "repair"],
    "zh": ["材质", "材料", "做工", "用料", "耐用", "保修", "维修"],
}
_MONEY_IN = {
    "en": ["withdraw", "lock-up", "redeem", "maturity", "principal", "premiums", "claims"],
    "zh": ["赎回", "提现", "锁定期", "封闭期", "本金", "保费", "理赔", "到账"],
}
_INVESTING = {
    "en": ["performed", "strategy", "underlying assets", "withdraw", "redeem"],
    "zh": ["业绩", "投资策略", "底层资产", "赎回", "提现"],
}
UNFIT = {
    "physical": [_MONEY_IN],
    "digital": [_SHIPPED, _MADE, _MONEY_IN],
    "service": [_SHIPPED, _MADE, _MONEY_IN],
    "financial": [_SHIPPED, _MADE],
    "insurance": [_SHIPPED, _MADE, _INVESTING],
    GENERAL: [_SHIPPED, _MADE, _MONEY_IN, _INVESTING],
}


def _unfit_words(text: str, kind: str, lang: str) -> list[str]:
    words = [w for group in UNFIT[kind] for w in group[lang]]
    lowered = text.lower()
    if lang == "en":
        return [w for w in words if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", lowered)]
    return [w for w in words if w in lowered]


def test_every_category_and_product_has_a_kind():
    seed = load_seed()
    for cid, category in seed.categories.items():
        assert category.get("kind") in KINDS, cid
    kinds = builtin_kinds()
    assert set(kinds) == {p["id"] for p in seed.products}
    assert kinds["ebook_qingjian_drmfree"] == ProductKind("digital")
    assert kinds["ebook_mojuan_reader"] == ProductKind("physical")  # an e-reader is shipped
    assert kinds["ins_hexu_critical_illness"] == ProductKind("insurance")
    assert kinds["deposit_ruihe_3y_cd"] == ProductKind("financial", frozenset({"core_quality"}))


@pytest.mark.parametrize("lang", LANGS)
def test_no_category_question_names_a_factor_it_excludes(lang):
    """Done-when of issue 15: every category's question bank, in both languages."""
    lex = lexicon(lang)
    seed = load_seed()
    kinds = builtin_kinds()
    checked = 0
    for cid in seed.categories:
        for product in seed.products_in(cid):
            kind = kinds[product["id"]]
            for factor, templates in question_bank(kind.kind, lang).items():
                if factor in kind.excludes:
                    continue  # never asked (see test_excluded_factors_leave_the_profile)
                for template in templates:
                    named = lex.factors_in(template.format(product="X"))
                    assert factor in named, (cid, factor, template)
                    assert not named & kind.excludes, (cid, template, named & kind.excludes)
                    checked += 1
    assert checked > 1000


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", [*KINDS, GENERAL])
def test_questions_fit_their_kind(kind, lang):
    lex = lexicon(lang)
    bank = question_bank(kind, lang)
    assert set(bank) == set(FACTORS)
    for factor, templates in bank.items():
        assert len(templates) >= 2, (kind, factor)
        for template in templates:
            text = template.format(product="X")
            assert not _unfit_words(text, kind, lang), (kind, template)
            # The factor asked about is the one the lexicon reads first.
            assert lex.ranked_factors(text)[0] == factor, (kind, template)
            assert not lex.has("seller_role", text) and not lex.has("trick", text), template


@pytest.mark.parametrize("lang", LANGS)
def test_a_template_belongs_to_one_factor(lang):
    pairs = all_questions(lang)
    templates = [t for _, t in pairs]
    assert len(templates) == len(set(templates))


def test_category_data_never_names_a_factor_the_category_excludes():
    seed = load_seed()
    kinds = builtin_kinds()
    for cid, category in seed.categories.items():
        tagged = [*category["motivations"], *category["pain_points"]]
        for product in seed.products_in(cid):
            excludes = kinds[product["id"]].excludes
            items = tagged + product["facts"]
            items += product.get("motivations", []) + product.get("pain_points", [])
            assert not {i["factor"] for i in items} & excludes, (cid, product["id"])


def _official(category: str, name: str, facts: tuple[str, ...] = (), domain: str = "consumer"):
    product = Product(
        id=f"salesllm:{name}",
        domain=domain,
        category=re.sub(r"\W+", "_", category).strip("_"),
        category_name=category,
        name=name,
        price="",
        facts=tuple(Fact("core_quality", f) for f in facts),
        selling_points=(),
    )
    return Scenario(
        language="en",
        difficulty="easy",
        buy_propensity=0.8,
        customer_prompt="You are a customer.",
        salesperson_prompt=f"Product: {name}",
        trigger="Hi.",
        product=product,
        source="salesllm",
    )


@pytest.mark.parametrize(
    "category, name, facts, domain, kind",
    [
        (
            "",
            "Steady Saver Plus",
            ("Withdraw any time; principal and interest are protected",),
            "finance",
            "financial",
        ),
        ("", "Harbour Life Term Insurance", (), "finance", "insurance"),
        ("", "安心宝", ("被保险人确诊重大疾病后一次性给付保险金",), "finance", "insurance"),
        ("", "稳利宝", ("本金和利息受存款保险制度保护，可享保险折扣",), "finance", "financial"),
        ("Video_Games", "Comet Racers (Digital)", (), "consumer", "digital"),
        ("软件", "快记账专业版", (), "consumer", "digital"),
        ("Education", "Beginner Pottery Lessons, 8 Weeks", (), "consumer", "service"),
        ("Tools_Home_Improvement", "Cordless Screwdriver Set", (), "consumer", "physical"),
        ("家居与厨房", "铸铁炖锅", (), "consumer", "physical"),
        ("Garden Supplies", "Raised Planter Box", (), "consumer", "physical"),
        ("Kindle_Store", "Leather Case for 6-inch Readers", (), "consumer", GENERAL),
        (
            "Magazine_Subscriptions",
            "Money Matters Finance Monthly, 12 Issues",
            (),
            "consumer",
            GENERAL,
        ),
        ("Miscellaneous", "Mystery Item", (), "consumer", GENERAL),
    ],
)
def test_official_products_get_a_kind_by_keyword_rules(category, name, facts, domain, kind):
    scenario = _official(category, name, facts, domain)
    assert product_kind(scenario) == ProductKind(kind)
    assert infer_kind(category, name, " ".join(facts), finance=domain == "finance") == kind


def _scenarios(product_id: str, lang: str, count: int, difficulty: str = "mixed"):
    """Built-in scenarios of one product, from a seed reduced to it."""
    seed = load_seed()
    raw = next(p for p in seed.products if p["id"] == product_id)
    category = seed.categories[raw["category"]]
    data = dataclasses.replace(seed, categories={category["id"]: category}, products=(raw,))
    sampler = ScenarioSampler(lang, difficulty, domain=category["domain"], seed_data=data)
    return [sampler.sample(np.random.default_rng(i)) for i in range(count)]


def test_excluded_factors_leave_the_profile():
    scenarios = _scenarios("deposit_ruihe_3y_cd", "en", 40)
    asked = [s for s in scenarios if "core_quality" in s.persona.decision_factors]
    assert asked, "the sampler should sometimes draw the excluded factor"
    for scenario in asked:
        profile = product_profile(scenario)
        assert "core_quality" not in profile.decision_factors
        assert profile.decision_factors == tuple(
            f for f in scenario.persona.decision_factors if f != "core_quality"
        )
        assert "core_quality" not in profile.follow_up_factors
        assert all(p.factor != "core_quality" for p in profile.pain_points)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "product_id, kind",
    [("ebook_qingjian_drmfree", "digital"), ("ins_hexu_critical_illness", "insurance")],
)
def test_the_persona_customer_asks_only_what_fits(product_id, kind, lang):
    """A DRM-free e-book store's customer never asks about couriers; an insurance
    customer never asks about materials (real episodes with the scripted agent)."""
    scenarios = _scenarios(product_id, lang, 6)
    env = SalesEnv(language=lang, scenarios=scenarios)
    questions = 0
    for seed in range(6):
        record = run_episode(env, ScriptedSalesAgent(), seed=seed)
        customer = [t["text"] for t in record.transcript if t["role"] == "customer"]
        for text in customer:
            assert not _unfit_words(text, kind, lang), text
            questions += text.count("?") + text.count("？")
    assert questions >= 6
