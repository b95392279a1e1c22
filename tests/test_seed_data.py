"""The shipped seed data: schema, bilingual text, coverage, and agreement with the cue lexicon."""

from __future__ import annotations

import re

import pytest

from salesenv.cues import lexicon
from salesenv.customers.persona import phrases
from salesenv.customers.questions import all_questions
from salesenv.scenarios.scenario import FACTORS
from salesenv.scenarios.seed import load_seed

CJK = re.compile(r"[\u4e00-\u9fff]")
CONSUMER_CATEGORIES = {
    "All_Beauty",
    "Amazon_Fashion",
    "Appliances",
    "Arts_Crafts_and_Sewing",
    "Automotive",
    "Baby_Products",
    "Beauty_and_Personal_Care",
    "Books",
    "CDs_and_Vinyl",
    "Cell_Phones_and_Accessories",
    "Clothing_Shoes_and_Jewelry",
    "Digital_Music",
    "Electronics",
    "Gift_Cards",
    "Grocery_and_Gourmet_Food",
    "Handmade_Products",
    "Health_and_Household",
    "Health_and_Personal_Care",
    "Home_and_Kitchen",
    "Industrial_and_Scientific",
    "Kindle_Store",
    "Magazine_Subscriptions",
    "Movies_and_TV",
    "Musical_Instruments",
    "Office_Products",
    "Patio_Lawn_and_Garden",
    "Pet_Supplies",
    "Software",
    "Sports_and_Outdoors",
    "Subscription_Boxes",
    "Tools_and_Home_Improvement",
    "Toys_and_Games",
    "Video_Games",
}
FINANCE_CATEGORIES = {"bank_deposits", "stocks", "insurance", "bond_funds"}


def _bilingual(node: dict, where: str) -> None:
    assert node["zh"].strip() and node["en"].strip(), where
    assert CJK.search(node["zh"]), f"{where}: zh text has no Chinese"
    assert not CJK.search(node["en"]), f"{where}: en text has Chinese"


def test_categories_are_the_papers():
    seed = load_seed()
    assert len(CONSUMER_CATEGORIES) == 33
    assert set(seed.categories) == CONSUMER_CATEGORIES | FINANCE_CATEGORIES
    for cid in FINANCE_CATEGORIES:
        assert seed.categories[cid]["domain"] == "finance"
    for cid in CONSUMER_CATEGORIES:
        assert seed.categories[cid]["domain"] == "consumer"


def test_every_category_has_products_motivations_and_pain_points():
    seed = load_seed()
    for cid, category in seed.categories.items():
        minimum = 6 if category["domain"] == "finance" else 3
        assert len(seed.products_in(cid)) >= minimum, cid
        assert len(category["motivations"]) >= 6, cid
        assert len(category["pain_points"]) >= 6, cid
        for item in category["motivations"] + category["pain_points"]:
            assert item["factor"] in FACTORS
            _bilingual(item, cid)


def test_products_are_bilingual_with_tagged_facts():
    seed = load_seed()
    ids = [p["id"] for p in seed.products]
    assert len(ids) == len(set(ids)), "product ids must be unique"
    for product in seed.products:
        pid = product["id"]
        _bilingual(product["name"], pid)
        _bilingual(product["price"], pid)
        assert len(product["facts"]) >= 6, pid
        assert len({f["factor"] for f in product["facts"]}) >= 5, pid
        assert len(product["selling_points"]) >= 3, pid
        for key in ("motivations", "pain_points"):  # product-conditioned enrichment
            assert len(product[key]) >= 4, (pid, key)
            for item in product[key]:
                assert item["factor"] in FACTORS, pid
                _bilingual(item, pid)
        assert len({p["factor"] for p in product["pain_points"]}) >= 3, pid
        for fact in product["facts"]:
            assert fact["factor"] in FACTORS, pid
            _bilingual(fact, pid)
        assert sum(bool(re.search(r"\d", f["en"])) for f in product["facts"]) >= 3, pid


def test_persona_attributes_and_difficulties():
    seed = load_seed()
    personas = seed.personas
    assert len(personas["age_groups"]) >= 5 and len(personas["genders"]) == 2
    for lang in ("zh", "en"):
        assert len(personas["cities"][lang]) >= 30
        assert len(personas["occupations"][lang]) >= 30
    assert {d: p.buy_propensity for d, p in seed.difficulties.items()} == {
        "easy": 0.80,
        "medium": 0.50,
        "hard": 0.20,
        "very_hard": 0.10,
        "adversarial": 0.05,
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_customer_questions_name_their_factor(lang):
    """The customer's questions, the agents and the judge read factors through one lexicon."""
    lex = lexicon(lang)
    for factor, question in all_questions(lang):  # every kind's bank (questions.yaml)
        assert factor in FACTORS
        assert factor in lex.factors_in(question), (factor, question)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_customer_phrases_never_sound_like_a_seller(lang):
    lex = lexicon(lang)
    bank = phrases()[lang]
    for key, options in bank.items():
        items = [q for qs in options.values() for q in qs] if isinstance(options, dict) else options
        for text in items:
            assert not lex.has("seller_role", text), (key, text)
            assert not lex.has("trick", text), (key, text)


def test_trigger_sentences_fill_their_slots():
    seed = load_seed()
    for _lang, openings in seed.openings.items():
        assert len(openings) >= 12
        for template in openings:
            filled = template.format(product="P", category="C")
            assert "{" not in filled, template
