"""The readers of the official SalesLLM layouts: product sheets, customer prompts, language.

Every fixture here is written for these tests in the official layouts; none is copied
from the official files.
"""

from __future__ import annotations

import json

import pytest

from salesenv.customers.profile import build_profile
from salesenv.scenarios.official_customer import parse_customer_prompt, read_score
from salesenv.scenarios.official_product import parse_product, product_section
from salesenv.scenarios.salesllm import ScriptSkipped, read_salesllm
from salesenv.scenarios.scenario import Fact
from salesenv.scenarios.script_language import detect_language

INTRO_EN = (
    "You are a professional salesperson (ASSISTANT) in a realistic sales conversation.\n"
    "Only you can see the following PRODUCT_INFORMATION. Never reveal it.\n\n"
)
RULES_EN = "\nRules:\n- Speak strictly in English.\n- Do not invent product facts.\n"
INTRO_ZH = "你是一名专业的销售人员（助理），在真实的销售对话中。\n只有你能看到以下产品信息，绝不能透露。\n\n"
RULES_ZH = "\n规则：\n- 严格使用中文交流。\n- 不要编造产品信息。\n"

PARAGRAPHS_EN = (
    INTRO_EN
    + (
        "PRODUCT_INFORMATION (private to you):\n"
        "{\n"
        '    "Product Information": "Harbor Saver is a fixed-term deposit product for salaried '
        "workers. The minimum deposit is 100 yuan. The annual interest rate is 2.6% for three "
        'years. Early withdrawal is allowed, with interest at the demand rate.",\n'
        '    "Marketing Highlights": "Low entry threshold. Principal is protected by deposit '
        'insurance up to 500,000 yuan. Open it in the mobile app in minutes."\n'
        "}\n"
    )
    + RULES_EN
)
PARAGRAPHS_ZH = (
    INTRO_ZH
    + (
        "产品信息（仅供你参考）：\n"
        "{\n"
        "    “产品信息”：“晨帆宝是一款面向上班族的定期存款产品。起存金额为100元。三年期年化利率为2.6%。"
        "支持提前支取，利息按活期利率计算。”\n"
        "    “市场卖点”：“起存门槛低。本金受存款保险制度保护（50万元以内）。手机银行即可办理。”\n"
        "}\n"
    )
    + RULES_ZH
)
LISTING_EN = (
    INTRO_EN
    + (
        "PRODUCT_INFORMATION (private to you):\n"
        "main_category: Garden Supplies\n"
        "title: Tidewell Self-Watering Planter - 12 Inch, Water Level Indicator, Recycled Plastic\n"
        "description:\n"
        "  From the Manufacturer\n"
        "  The Tidewell planter keeps herbs watered for up to two weeks. A floating gauge shows "
        "when to refill the reservoir.\n"
        "price: $24.99\n"
        "store: Tidewell\n"
        "categories:\n"
        "  Garden Supplies\n"
        "  Planters\n"
        "details:\n"
        "  Manufacturer: Tidewell Home Ltd.\n"
        "  Item model number: TW-12\n"
        "  Batteries Required?: No\n"
        "  Product Dimensions: 12 x 12 x 10 inches\n"
        "  Best Sellers Rank: {'Garden Supplies': 9200, 'Self-Watering Planters': 31}\n"
        "Two-week reservoir for busy gardeners\n"
        "  Made from 80% recycled plastic\n"
        "  One-year warranty against cracks\n"
    )
    + RULES_EN
)
LISTING_ZH = (
    INTRO_ZH
    + (
        "产品信息（仅供你参考）：\n"
        "主要类别：园艺用品\n"
        "标题：潮汐自吸水花盆 12英寸 水位指示 再生塑料\n"
        "描述：\n"
        "来自制造商\n"
        "潮汐自吸水花盆可为香草持续供水长达两周。浮标会提示何时加水。\n"
        "商店：潮汐家居\n"
        "类别：\n"
        "- 园艺用品\n"
        "- 花盆\n"
        "详细信息：\n"
        "制造商：潮汐家居有限公司\n"
        "商品型号：TW-12\n"
        "是否需要电池：否\n"
        "产品尺寸：30 x 30 x 25 厘米\n"
        "销售排名：{'园艺用品': 9200, '自吸水花盆': 31}\n"
        "两周储水，适合忙碌的上班族\n"
        "采用80%再生塑料制成\n"
        "一年质保，开裂包换\n"
    )
    + RULES_ZH
)
LABELLED_EN = (
    INTRO_EN
    + (
        "PRODUCT_INFORMATION (private to you):\n"
        "Category: Kitchen\n"
        "Product Name: Embercast Enamel Dutch Oven (5 Quart)\n"
        "Product Description:\n"
        "Embercast's enamel Dutch oven holds heat evenly for slow braises. The enamel needs no "
        "seasoning and cleans easily.\n"
        "Price: 399 RMB\n"
        "Store: Embercast Flagship Store\n"
        "Classification:\n"
        "Kitchen\n"
        "Cookware\n"
        "Details:\n"
        "Brand: Embercast\n"
        "Material: Enamelled cast iron\n"
        "Oven safe up to 260°C\n"
        "Lifetime warranty on the enamel\n"
    )
    + RULES_EN
)
LABELLED_ZH = (
    INTRO_ZH
    + (
        "产品信息（仅供你参考）：\n"
        "品类: 厨房用品\n"
        "产品名称: 炉火搪瓷铸铁锅 5升 适合炖煮\n"
        "产品描述:\n"
        "  炉火搪瓷铸铁锅受热均匀，适合慢炖。搪瓷表面无需开锅，清洗方便。\n"
        "价格: 399元\n"
        "店铺: 炉火官方旗舰店\n"
        "分类:\n"
        "  厨房用品\n"
        "  锅具\n"
        "产品详情:\n"
        "  品牌: 炉火\n"
        "  材质: 搪瓷铸铁\n"
        "产品特点:\n"
        "  【耐高温】烤箱可用，最高260℃\n"
        "  【终身质保】搪瓷层终身保修\n"
    )
    + RULES_ZH
)
UNKNOWN_EN = (
    INTRO_EN
    + (
        "PRODUCT_INFORMATION (private to you):\n"
        "| field | value |\n|---|---|\n| thing | a lamp |\n| colour | red |\n"
    )
    + RULES_EN
)
NO_PRODUCT_EN = (
    INTRO_EN + "You should use sales strategies and techniques to persuade the customer.\n"
)

CUSTOMER_EN = (
    "- Difficulty level: very_hard  \n"
    "- Buy-inclination score: 0.1  \n"
    "- Persona: Extremely skeptical corporate buyer; needs references and formal procedures.  \n"
    "- CUSTOMER_INFORMATION (private to you):  \n"
    '  - basic_info: {"age_group": "35-44", "gender": "female", "location": "Wuhan", '
    '"occupation": "nurse"}  \n'
    "  - motivations: Wants to grow fresh herbs on a small balcony.  \n"
    "  - pain_points: Worried about the price of refills, concerned that the planter breaks "
    "after a season.  \n"
    "  - decision_factors: Prioritizes after-sales service, user reviews and product "
    "quality.  \n"
    "  - communication_preferences: Prefers short messages.  \n"
    "  - language: english  \n"
)
CUSTOMER_EN_HEADINGS = (
    "CUSTOMER_INFORMATION (private to you):\n"
    "basic_info\n"
    '{"age_group": "55-64", "gender": "male", "location": "Xiamen", "occupation": "driver"}\n'
    "motivations\n"
    "Hopes to cook stews for his grandchildren.\n"
    "pain_points\n"
    "Worried about hidden fees and slow delivery.\n"
    "decision_factors\n"
    "Values warranty, price and brand reputation.\n"
    "language\n"
    "English\n"
)
CUSTOMER_ZH = (
    "- 难度等级：中等  \n"
    "- 购买倾向评分：从0.4调整为0.6  \n"
    "- 人设：平衡型买家。有一些顾虑（价格/适配性），需要合理的证据。  \n"
    "客户信息（仅供内部使用）：  \n"
    "基本信息  \n"
    '{"年龄段": "25-34", "性别": "女", "地点": "成都", "职业": "设计师"}  \n'
    "动机  \n"
    "想在阳台种点香草做饭用  \n"
    "痛点  \n"
    "担心配件价格太贵、花盆用一季就开裂  \n"
    "决策因素  \n"
    "优先考虑售后服务、用户评价和产品质量  \n"
    "语言  \n"
    "中文  \n"
)
CUSTOMER_ZH_NESTED = (
    "- 难度水平：对抗性  \n- 购买倾向评分：0.05  \n"
    "- 人物角色：对抗性评估者。强调边缘情况、法律风险以及总拥有成本（TCO）。  \n"
    "- 客户信息 (仅供内部使用):  \n"
    "    - 基本信息  \n        - 年龄组45-54岁，女性，地点杭州，职业会计  \n"
    "    - 动机  \n        - 想给孩子买一个安全耐用的书包  \n"
    "    - 决策因素  \n        - 产品质量、用户评价和配送速度  \n"
    "- 规则更新：  \n  - 不轻易表态购买，要求更多验证资料。  \n"
)
PERSONA_ONLY_EN = (
    "- Difficulty level: medium\n- Buy-inclination score: 0.5\n"
    "- Persona: Balanced buyer. Has some concerns (price/fit) and needs reasonable evidence.\n"
)
PERSONA_ONLY_ZH = (
    "- 难度级别：简单\n- 购买倾向分数：0.9\n- 人物角色：开放且积极的买家。痛点明确，预算灵活。\n"
)
ADJUSTED_ZH = (
    "- 难度等级：困难\n- 购买倾向评分：0.2\n"
    "规则调整：\n- CUSTOMER_INFORMATION中的决策因素调整为：首先考虑理赔速度，其次是保费和品牌信誉。\n"
)


def _record(seller, customer, rid="x1", language="chinese"):
    return {
        "id": rid,
        "language": language,
        "user_system_prompt": customer,
        "assistant_system_prompt": seller,
        "trigger_sentence_zh": "你好，你们这里卖什么？",
        "trigger_sentence_en": "Hi, what do you sell here?",
    }


@pytest.mark.parametrize(
    ("prompt", "language", "layout", "name", "price"),
    [
        (PARAGRAPHS_EN, "en", "json", "Harbor Saver", ""),
        (PARAGRAPHS_ZH, "zh", "json", "晨帆宝", ""),
        (LISTING_EN, "en", "listing", "Tidewell Self-Watering Planter", "$24.99"),
        (LISTING_ZH, "zh", "listing", "潮汐自吸水花盆", ""),
        (LABELLED_EN, "en", "labelled", "Embercast Enamel Dutch Oven", "399 RMB"),
        (LABELLED_ZH, "zh", "labelled", "炉火搪瓷铸铁锅", "399元"),
    ],
)
def test_each_product_layout_becomes_a_sheet(prompt, language, layout, name, price):
    sheet = parse_product(prompt, language, "r1")
    assert sheet.layout == layout
    product = sheet.product
    assert product.name == name
    assert product.price == price
    assert product.id == "salesllm:r1"
    assert len(product.facts) >= 3
    texts = " ".join(f.text for f in product.facts)
    assert "Rules" not in texts and "规则" not in texts  # the section stops at the rules
    assert "model number" not in texts.lower() and "型号" not in texts  # no part numbers


def test_paragraph_facts_are_tagged_and_highlights_are_selling_points():
    product = parse_product(PARAGRAPHS_EN, "en").product
    by_text = {}
    for fact in product.facts:
        by_text.setdefault(fact.text, set()).add(fact.factor)
    assert "returns_cost" in by_text["The annual interest rate is 2.6% for three years"]
    assert (
        "safety_protection"
        in by_text["Principal is protected by deposit insurance up to 500,000 yuan"]
    )
    assert product.selling_points[0] == "Low entry threshold"
    assert product.domain == "finance"
    zh = parse_product(PARAGRAPHS_ZH, "zh").product
    assert {"returns_cost", "safety_protection"} <= {f.factor for f in zh.facts}


def test_listing_details_rank_warranty_and_bullets():
    product = parse_product(LISTING_EN, "en").product
    facts = {(f.factor, f.text) for f in product.facts}
    assert ("brand_trust", "The manufacturer is Tidewell Home Ltd.") in facts
    assert ("social_proof", "It ranks #31 among best sellers in Self-Watering Planters") in facts
    assert ("returns_cost", "The price is $24.99") in facts
    assert any(f == "support_after_sales" and "warranty" in t for f, t in facts)
    assert "Made from 80% recycled plastic" in product.selling_points
    assert product.category == "Garden_Supplies" and product.domain == "consumer"
    assert not any(t == "Planters" for _, t in facts)  # category lines are not facts
    zh = parse_product(LISTING_ZH, "zh").product
    zh_facts = {(f.factor, f.text) for f in zh.facts}
    assert ("social_proof", "在自吸水花盆类畅销榜排名第31") in zh_facts
    assert ("brand_trust", "制造商是潮汐家居有限公司") in zh_facts
    assert not any("电池" in t for _, t in zh_facts)


def test_unknown_layout_and_missing_product_information():
    assert parse_product(UNKNOWN_EN, "en").layout == "unknown"
    assert parse_product(UNKNOWN_EN, "en").product is None
    assert parse_product(NO_PRODUCT_EN, "en").layout == "none"
    assert product_section(NO_PRODUCT_EN) is None


def test_customer_prompt_inline_fields_en():
    script = parse_customer_prompt(CUSTOMER_EN, "en")
    assert (script.difficulty, script.buy_propensity, script.layout) == (
        "very_hard",
        0.1,
        "profile",
    )
    persona = script.persona
    assert persona.decision_factors[:3] == ("support_after_sales", "social_proof", "core_quality")
    assert (persona.age_group, persona.gender, persona.city, persona.occupation) == (
        "35-44",
        "female",
        "Wuhan",
        "nurse",
    )
    pains = {p.factor: p.text for p in persona.pain_points}
    assert pains["returns_cost"] == "the price of refills"
    assert persona.motivations[0].text == "grow fresh herbs on a small balcony"
    assert persona.communication == "Prefers short messages."


def test_customer_prompt_heading_lines_en_and_zh():
    script = parse_customer_prompt(CUSTOMER_EN_HEADINGS, "en")
    assert script.layout == "profile" and script.difficulty == "medium"
    assert script.persona.decision_factors[:3] == (
        "support_after_sales",
        "returns_cost",
        "brand_trust",
    )
    assert script.persona.city == "Xiamen"
    zh = parse_customer_prompt(CUSTOMER_ZH, "zh")
    assert (zh.difficulty, zh.buy_propensity) == ("medium", 0.6)  # "从0.4调整为0.6"
    assert zh.persona.decision_factors[:3] == (
        "support_after_sales",
        "social_proof",
        "core_quality",
    )
    assert zh.persona.pain_points[0] == zh.persona.pain_points[0].__class__(
        "returns_cost", "配件价格太贵"
    )
    assert zh.persona.motivations[0].text == "在阳台种点香草做饭用"
    assert (zh.persona.age_group, zh.persona.city) == ("25-34", "成都")


def test_nested_heading_bullets_and_rule_updates_zh():
    script = parse_customer_prompt(CUSTOMER_ZH_NESTED, "zh")
    assert (script.difficulty, script.buy_propensity) == ("adversarial", 0.05)
    persona = script.persona
    assert persona.decision_factors[:3] == ("core_quality", "social_proof", "availability_delivery")
    assert (persona.age_group, persona.gender) == ("45-54", "女")
    assert persona.motivations[0].text == "给孩子买一个安全耐用的书包"


def test_listing_with_other_chinese_keys():
    prompt = LISTING_ZH.replace("详细信息：", "细节：").replace("销售排名", "畅销排行榜")
    product = parse_product(prompt, "zh").product
    facts = {(f.factor, f.text) for f in product.facts}
    assert ("social_proof", "在自吸水花盆类畅销榜排名第31") in facts
    assert ("brand_trust", "制造商是潮汐家居有限公司") in facts


def test_persona_only_prompts_and_adjusted_factors():
    en = parse_customer_prompt(PERSONA_ONLY_EN, "en")
    assert en.layout == "persona"
    assert en.persona.decision_factors == ("returns_cost", "fit_flexibility")
    zh = parse_customer_prompt(PERSONA_ONLY_ZH, "zh")
    assert zh.difficulty == "easy" and len(zh.persona.decision_factors) >= 2
    adjusted = parse_customer_prompt(ADJUSTED_ZH, "zh")
    assert adjusted.persona.decision_factors[:3] == (
        "support_after_sales",
        "returns_cost",
        "brand_trust",
    )


def test_a_worry_listed_over_factors_is_one_pain_per_factor():
    # Persona line only: the worry it voices is the pain-point field it lacks.
    en = parse_customer_prompt(PERSONA_ONLY_EN, "en")
    assert en.persona.pain_points == (
        Fact("returns_cost", "price"),
        Fact("fit_flexibility", "fit"),
    )
    zh = parse_customer_prompt(
        "- 难度级别：中等\n- 购买倾向评分：0.6\n"
        "- 人物画像：平衡型买家。对价格和适合度有一些担忧，需要合理的证据。\n",
        "zh",
    )
    assert zh.persona.pain_points == (
        Fact("returns_cost", "价格"),
        Fact("fit_flexibility", "适合度"),
    )
    # A worry about one factor, or items of the same factor, stays one clause.
    one = parse_customer_prompt(
        "- Difficulty: hard\n- Pain points: worried about data privacy and security\n", "en"
    )
    assert one.persona.pain_points == (Fact("safety_protection", "data privacy and security"),)


def test_persona_customer_raises_each_listed_worry_after_its_factor():
    from salesenv.customers.persona import PersonaCustomer

    scenario = read_salesllm(
        _record(
            LISTING_ZH,
            PERSONA_ONLY_ZH.replace(
                "痛点明确，预算灵活。", "有一些顾虑（价格/适合性），需要合理的证据。"
            ),
        )
    ).scenario
    agenda = PersonaCustomer()._start(scenario, seed=0).agenda
    assert agenda == [
        ("factor", "returns_cost"),
        ("pain", Fact("returns_cost", "价格")),
        ("factor", "fit_flexibility"),
        ("pain", Fact("fit_flexibility", "适合性")),
    ]


@pytest.mark.parametrize("placeholder", ["Not needed", "No need.", "不需要", "不要。", "  "])
def test_placeholder_customer_prompts_are_unusable(placeholder):
    script = parse_customer_prompt(placeholder, "en")
    assert script.layout == "unusable" and script.persona is None and script.problem


def test_cut_off_customer_information_is_repaired():
    script = parse_customer_prompt(
        "- 难度等级：非常困难\n- 购买倾向分数：0.1\n- 人设：极度谨慎的企业买家，需要参考资料。\n"
        "- CUSTOMER_INFORMATION (保持不变)",
        "zh",
    )
    assert script.persona is not None and script.layout == "persona"
    assert "unchanged" in script.repaired


def test_read_score_spellings():
    assert read_score("0.05") == 0.05
    assert read_score("从0.8调整为0.9") == 0.9
    assert read_score("7") == 0.7
    assert read_score("Very low") == 0.1


@pytest.mark.parametrize(
    ("customer", "seller", "declared", "expected", "reason"),
    [
        (CUSTOMER_EN, LABELLED_EN, "chinese", "en", "rule line"),
        (CUSTOMER_ZH, LABELLED_ZH, "english", "zh", "rule line"),
        (
            "Difficulty level: easy",
            "You sell lamps.\nProduct: Lumo lamp",
            "chinese",
            "en",
            "CJK share",
        ),
        (CUSTOMER_EN_HEADINGS, "Product: lamp", "chinese", "en", "language field"),
        ("难度等级：简单", "你卖台灯。\n产品：光影台灯", None, "zh", "CJK share"),
    ],
)
def test_language_comes_from_the_text(customer, seller, declared, expected, reason):
    verdict = detect_language(_record(seller, customer, language=declared))
    assert verdict.language == expected
    assert verdict.reason.startswith(reason)


def test_read_salesllm_builds_product_and_persona_and_forced_language():
    reading = read_salesllm(_record(LISTING_EN, CUSTOMER_EN))
    scenario = reading.scenario
    assert scenario.language == "en" and reading.language.contradicts_row
    assert scenario.trigger == "Hi, what do you sell here?"
    assert scenario.product.name == "Tidewell Self-Watering Planter"
    assert scenario.persona.decision_factors[0] == "support_after_sales"
    assert scenario.customer_prompt == CUSTOMER_EN  # verbatim
    forced = read_salesllm(_record(LISTING_EN, CUSTOMER_EN), language="zh").scenario
    assert forced.language == "zh" and forced.trigger == "你好，你们这里卖什么？"
    # The id hashes the prompts (and language), not the parsed structure.
    assert forced.id != scenario.id
    with pytest.raises(ScriptSkipped, match="no product information"):
        read_salesllm(_record(NO_PRODUCT_EN, CUSTOMER_EN))
    with pytest.raises(ScriptSkipped, match="placeholder"):
        read_salesllm(_record(LISTING_EN, "Not needed"))
    unknown = read_salesllm(_record(UNKNOWN_EN, CUSTOMER_EN))
    assert unknown.product_layout == "unknown" and unknown.scenario.product is None


def test_profile_asks_about_this_product_and_this_persona():
    scenario = read_salesllm(_record(LISTING_EN, CUSTOMER_EN)).scenario
    profile = build_profile(scenario)
    assert profile.product_name == "Tidewell Self-Watering Planter"
    assert profile.decision_factors == ("support_after_sales", "social_proof", "core_quality")
    # Extra questions come only from factors the script names beyond its top three.
    assert profile.follow_up_factors <= set(scenario.persona.decision_factors[3:])
    assert profile.pain_points == scenario.persona.pain_points


@pytest.mark.parametrize(
    ("seller", "customer"), [(LISTING_EN, CUSTOMER_EN), (LISTING_ZH, CUSTOMER_ZH)]
)
def test_persona_customer_asks_about_this_script(seller, customer):
    """In an episode with the scripted agent, the persona customer's questions are about
    the script's factors and pain points."""
    import salesenv
    from salesenv.agents import ScriptedSalesAgent
    from salesenv.cues import lexicon
    from salesenv.evaluation import run_episode

    scenario = read_salesllm(_record(seller, customer)).scenario
    lang = scenario.language
    env = salesenv.make(f"SalesLLM-{lang}-medium", scenarios=[scenario])
    record = run_episode(env, ScriptedSalesAgent(), seed=0, options={"scenario": scenario})
    replies = [t["text"] for t in record.transcript if t["role"] == "customer"][1:]
    text = " ".join(replies)
    named = set(scenario.persona.decision_factors)
    asked = set().union(*(lexicon(lang).factors_in(r) for r in replies))
    assert asked & named
    pains = [p.text for p in scenario.persona.pain_points]
    assert any(p in text for p in pains), (pains, replies)


def _benchmark():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "official_scripts.py"
    spec = importlib.util.spec_from_file_location("official_scripts_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_question_definition():
    bench = _benchmark()
    turn = "Fair enough, that's a straight answer. How long has the company been around?"
    assert bench.questions(turn, "en") == [
        ("How long has the company been around?", frozenset({"brand_trust"}))
    ]
    assert bench.questions("That's a bit vague. Can you be more specific?", "en") == []
    assert bench.questions("你说的我大概懂。保修期多久？", "zh")[0][1] == {"support_after_sales"}


def test_benchmark_skips_cleanly_and_measures_a_sample(tmp_path, monkeypatch, capsys):
    bench = _benchmark()
    monkeypatch.setattr("sys.argv", ["official_scripts.py", str(tmp_path / "absent")])
    assert bench.main() == 0
    assert "nothing to measure" in capsys.readouterr().out
    folder = tmp_path / "sample"
    folder.mkdir()
    for lang, seller, customer in (
        ("en", LISTING_EN, CUSTOMER_EN),
        ("zh", LABELLED_ZH, CUSTOMER_ZH),
    ):
        lines = [
            json.dumps(_record(seller, customer, rid=f"{lang}{i}"), ensure_ascii=False)
            for i in range(2)
        ]
        (folder / f"{lang}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["official_scripts.py", str(folder), "--builtin", "2"])
    assert bench.main() == 0
    out = capsys.readouterr().out
    assert "declare language 'zh' but their prompts are English" in out  # loader notes
    assert "| right language (no argument) | 100% (2/2) | 100% (2/2) |" in out
    assert "| product sheets with >= 3 facts | 100% (2/2) | 100% (2/2) |" in out


def test_read_scripts_round_trip_through_salesenv_format(tmp_path):
    from salesenv.scenarios.suites import load_suite, write_suite

    scenario = read_salesllm(_record(LISTING_ZH, CUSTOMER_ZH)).scenario
    path = write_suite(tmp_path / "mine.jsonl", [scenario])
    (again,) = load_suite(path)
    assert again == scenario and again.id == scenario.id
    assert again.product.facts == scenario.product.facts


@pytest.mark.parametrize(
    ("seller", "customer", "trigger", "fact"),
    [
        (
            LISTING_EN,
            CUSTOMER_EN,
            "Hi, I'm after a planter for my balcony. Does it have a warranty?",
            "One-year warranty against cracks",
        ),
        (LISTING_ZH, CUSTOMER_ZH, "你好，我想买个花盆。有保修吗？", None),
    ],
)
def test_scripted_agent_answers_an_official_opening_question(seller, customer, trigger, fact):
    """Official openings are often questions: the scripted agent answers them before asking
    about needs, and no question of the episode counts as ignored by the rubric judge."""
    import salesenv
    from salesenv.agents import ScriptedSalesAgent
    from salesenv.evaluation import run_episode

    record = _record(seller, customer)
    record["trigger_sentence_en"] = record["trigger_sentence_zh"] = trigger
    scenario = read_salesllm(record).scenario
    env = salesenv.make(f"SalesLLM-{scenario.language}-medium", scenarios=[scenario])
    result = run_episode(env, ScriptedSalesAgent(), seed=0, options={"scenario": scenario})
    first = next(t["text"] for t in result.transcript if t["role"] == "salesperson")
    warranty = [f.text for f in scenario.product.facts if f.factor == "support_after_sales"]
    assert warranty, scenario.product.facts
    assert (fact or warranty[0]).rstrip("。.") in first, first
    assert result.score["judge_features"]["ignored_questions"] == 0, result.transcript


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        (PERSONA_ONLY_ZH, "zh"),
        ("- 难度级别：简单\n- 人物角色：开放的买家，预算非常灵活，对价格不太敏感。\n", "zh"),
        ("- Difficulty: easy\n- Persona: Open buyer with a flexible budget.\n", "en"),
        (
            "- Difficulty: easy\n- Persona: Open buyer; budget is flexible, not price-sensitive.\n",
            "en",
        ),
    ],
)
def test_a_flexible_budget_is_no_price_concern(prompt, language):
    script = parse_customer_prompt(prompt, language)
    assert "returns_cost" not in script.persona.decision_factors
    assert len(script.persona.decision_factors) >= 2  # the easy profile's own concerns


def test_a_tight_budget_is_still_a_price_concern():
    zh = parse_customer_prompt("- 难度级别：困难\n- 人物角色：预算有限，很在意价格。\n", "zh")
    en = parse_customer_prompt(
        "- Difficulty: hard\n- Persona: Tight budget, price-sensitive.\n", "en"
    )
    assert zh.persona.decision_factors[0] == "returns_cost"
    assert en.persona.decision_factors[0] == "returns_cost"


@pytest.mark.parametrize(
    "paragraph, language, name",
    [
        (
            "Spruce Health Protection 3.0重大疾病保险是一款由云杉人寿承保的重大疾病保险产品。"
            "等待期为90天。投保年龄为0至60岁。保障期至80周岁。",
            "zh",
            "Spruce Health Protection 3.0重大疾病保险",  # 34 characters
        ),
        (
            "The Harbor Fold Kayak is a folding kayak for calm water. It weighs 12 kg. "
            "It packs into a 90 cm bag. It seats one adult.",
            "en",
            "Harbor Fold Kayak",
        ),
    ],
)
def test_a_long_name_is_read_from_the_first_sentence(paragraph, language, name):
    key = "产品信息" if language == "zh" else "product_information"
    prompt = json.dumps({key: paragraph}, ensure_ascii=False)
    product = parse_product(f"PRODUCT_INFORMATION:\n{prompt}\n", language).product
    assert product is not None and product.name == name
