"""Reading by meaning (salesenv.meaning) and the persona customer's semantic mode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import salesenv
from salesenv.customers import PersonaCustomer
from salesenv.customers.reading import factor_prototypes
from salesenv.meaning import SheetMeaning, clauses, support, word_vectors
from salesenv.scenarios.scenario import Fact

EN_FACTS = (
    ("core_quality", "Made of 65% cotton and 35% polyester twill with a water-repellent finish"),
    (
        "returns_cost",
        "Free returns and exchanges within 30 days, with shipping costs both ways covered",
    ),
    ("availability_delivery", "Every size is in stock and ships within 24 hours of ordering"),
    ("social_proof", "Over 20,000 sold in its first year, with a customer rating of 4.8 out of 5"),
)
ZH_FACTS = (
    ("core_quality", "面料为65%棉加35%涤纶的斜纹布，做过防泼水处理"),
    ("returns_cost", "30天内免费退换，来回运费都由平台承担"),
    ("availability_delivery", "全尺码现货，下单后24小时内发货"),
    ("social_proof", "上架一年卖出20,000多件，用户评分4.8分（满分5分）"),
)


def sheet(language: str) -> SheetMeaning:
    facts = EN_FACTS if language == "en" else ZH_FACTS
    reference = "\n".join(text for _, text in facts)
    return SheetMeaning(language, facts, factor_prototypes(language), reference)


def test_word_ids_match_chinese_words_and_english_inflections():
    vectors = word_vectors()
    assert vectors.word_ids("退款") == [vectors.word_ids("退款")[0]]  # one word, not two chars
    assert len(vectors.word_ids("refunds")) == 1
    assert vectors.word_ids("qzxqzx") == []
    words = vectors.words("quality")
    assert words.vectors.shape == (1, vectors.dim) and words.weights.shape == (1,)
    assert np.isclose(np.linalg.norm(words.vectors[0]), 1.0, atol=1e-5)
    assert not len(vectors.words("").ids) and not len(vectors.words("qzxqzx").ids)


def _support(claim: str, source: str) -> float:
    vectors = word_vectors()
    return support(vectors.words(claim), vectors.words(source).vectors)


def test_related_words_support_each_other_more_than_unrelated_ones():
    assert _support("refund my money", "money back guarantee") > _support(
        "refund my money", "the sofa is blue"
    )
    assert _support("快递几天能到", "发货速度很快") > _support("快递几天能到", "面料是纯棉的")


def test_clauses_cut_at_punctuation():
    assert clauses("Good question. It ships today, and returns are free!") == [
        "Good question",
        "It ships today",
        "and returns are free",
    ]


@pytest.mark.parametrize(
    ("language", "paraphrase", "factor"),
    [
        (
            "en",
            "You can send it back for nothing within a month and we pay the postage both ways",
            "returns_cost",
        ),
        (
            "en",
            "We have it in every size right now and it leaves our warehouse the next day",
            "availability_delivery",
        ),
        ("zh", "一个月内不满意可以随便退，寄回的邮费我们出", "returns_cost"),
        ("zh", "所有码数都有货，您今天下单明天就寄出", "availability_delivery"),
    ],
)
def test_a_paraphrase_states_its_fact(language, paraphrase, factor):
    reading = sheet(language).read(paraphrase)
    assert factor in reading.grounded
    assert not reading.unsupported


def test_a_fact_of_another_factor_grounds_only_that_factor():
    reading = sheet("en").read(EN_FACTS[3][1])
    assert reading.grounded == {"social_proof"}


@pytest.mark.parametrize(
    ("language", "claim"),
    [
        ("en", "There are absolutely no hidden fees with this jacket."),
        ("zh", "这件衣服的品牌在国外非常有名，明星都在穿。"),
    ],
)
def test_an_unsupported_claim_without_numbers_or_cue_words_is_caught(language, claim):
    assert sheet(language).read(claim).unsupported


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Good question. Let me explain."),
        ("en", "Thanks for asking about delivery."),
        ("zh", "好问题，我来给您介绍一下。"),
        ("en", "What matters most to you when you buy a jacket?"),
    ],
)
def test_framing_and_questions_are_not_claims(language, text):
    assert not sheet(language).read(text).unsupported


def test_modes_and_description():
    with pytest.raises(ValueError, match="understanding must be one of"):
        PersonaCustomer(understanding="telepathy")
    assert PersonaCustomer().describe()["understanding"] == "semantic"
    assert PersonaCustomer("lexical").describe()["version"] == "2"


def _jacket_scenario(language: str):
    """A built-in scenario whose product facts are this file's and whose customer asks
    about returns first."""
    env = salesenv.make(f"SalesLLM-{language}-easy")
    env.reset(seed=0)
    scenario = env.unwrapped.scenario
    facts = EN_FACTS if language == "en" else ZH_FACTS
    product = dataclasses.replace(
        scenario.product, facts=tuple(Fact(factor, text) for factor, text in facts)
    )
    persona = dataclasses.replace(
        scenario.persona, decision_factors=("returns_cost", "availability_delivery")
    )
    return dataclasses.replace(scenario, product=product, persona=persona)


@pytest.mark.parametrize(
    ("language", "paraphrase"),
    [
        ("en", "You can send it back for nothing within a month and we pay the postage both ways."),
        ("zh", "一个月内不满意可以随便退，寄回的邮费我们出。"),
    ],
)
def test_semantic_mode_credits_a_paraphrase_the_lexical_mode_misses(language, paraphrase):
    """The same paraphrased answer to the same question: credited only when read by meaning."""
    scenario = _jacket_scenario(language)
    credited = {}
    for mode in ("lexical", "semantic"):
        customer = PersonaCustomer(mode)
        env = salesenv.make(f"SalesLLM-{language}-easy", customer=customer)
        env.reset(seed=0, options={"scenario": scenario})
        greeting = (
            "Hello, thanks for getting in touch." if language == "en" else "您好，感谢您的咨询。"
        )
        env.step(greeting)
        conversation = env.unwrapped._conversation_id
        assert customer._cache[conversation][1].pending == ("factor", "returns_cost")
        env.step(paraphrase)
        credited[mode] = "good" in customer.last_events(conversation)
    assert credited == {"lexical": False, "semantic": True}


@pytest.mark.parametrize(
    ("language", "text", "act"),
    [
        ("en", "Who will mostly be wearing it, and how often?", "discovery"),
        ("en", "Shall I put the order through for you now?", "close"),
        ("en", "Hurry, this price is gone after today!", "pressure"),
        ("zh", "您平时主要在什么场合穿？", "discovery"),
        ("zh", "那我现在就帮您下单？", "close"),
    ],
)
def test_acts_are_read_by_meaning(language, text, act):
    assert act in sheet(language).acts(text)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Hello, I'm the advisor for this jacket."),
        ("en", "Delivery takes two days."),
        ("zh", "您好，我是这款产品的顾问。"),
        ("zh", "全尺码现货，24小时内发货。"),
    ],
)
def test_statements_are_no_acts(language, text):
    assert not sheet(language).acts(text)
