"""Loading scripts in the public SalesLLM JSONL format, messy lines included."""

from __future__ import annotations

import json

import pytest

from salesenv.scenarios import SuiteFormatWarning, load_suite
from salesenv.scenarios.salesllm import difficulty_from_score, parse_difficulty, read_difficulty

SELLER_EN = "You are a salesperson for Brightwave Air Purifier.\n- Product: Brightwave Air Purifier\n- Price: $199\n- Filter replacement costs $29 every 6 months."
SELLER_ZH = "你是清风空气净化器的销售。\n- 产品：清风空气净化器\n- 价格：1299元\n- 滤芯每6个月更换一次，费用99元。"


def _record(rid, customer, seller=SELLER_EN, **extra):
    return {
        "id": rid,
        "user_system_prompt": customer,
        "assistant_system_prompt": seller,
        "trigger_sentence_zh": "你好，我想了解一下。",
        "trigger_sentence_en": "Hi, I'd like to know more.",
        **extra,
    }


MESSY = [
    _record(
        1,
        "You are a customer.\nDifficulty level: very_hard\nBuy-inclination score: 0.1\nYou worry about the price.",
    ),
    _record(
        2, "You are a customer.\n  difficulty  LEVEL :   Very Hard \nBuying inclination score:0.15"
    ),
    _record(3, "You are a customer. Difficulty: EASY. Buy-inclination score: 0.8"),
    _record(
        4, "你是一位顾客。\n难度等级：非常困难\n购买倾向分：0.1\n你担心费用太贵。", seller=SELLER_ZH
    ),
    _record(5, "你是一位顾客。\n难度：对抗性\n", seller=SELLER_ZH),
    _record(6, "你是一位顾客。\n难度等级: 中等 \n购买倾向: 0.5", seller=SELLER_ZH),
    _record(7, "You are a customer.\nBuy-inclination score: 0.2\nNo difficulty line here."),
    _record(8, "You are a customer with no labels at all."),
    _record(9, ""),  # unusable: empty customer prompt
    _record(10, "You are a customer.", seller="   "),  # unusable: empty seller prompt
    {"id": 11, "user_system_prompt": "You are a customer.", "assistant_system_prompt": SELLER_EN},
    _record(
        12,
        "You are a customer.\nDifficulty level: adversarial\nBuy-inclination score: 0.05",
        language="en",
    ),
    _record(13, "You are a customer.\nDifficulty Level: hard"),
]


@pytest.fixture
def messy_file(tmp_path):
    path = tmp_path / "salesllm_messy.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in MESSY]
    lines.insert(5, "{not json at all")
    lines.insert(7, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_messy_file_loads_what_it_can(messy_file):
    with pytest.warns(SuiteFormatWarning) as caught:
        suite = load_suite(messy_file)
    messages = [str(w.message) for w in caught]
    assert any("id 9" in m and "user_system_prompt" in m for m in messages)
    assert any("id 10" in m and "assistant_system_prompt" in m for m in messages)
    assert any("id 11" in m and "trigger" in m for m in messages)
    assert any("line 6" in m for m in messages), messages  # the broken JSON line
    by_id = {s.source_id: s for s in suite}
    assert sorted(by_id, key=int) == ["1", "2", "3", "4", "5", "6", "7", "8", "12", "13"]
    expected = {
        "1": ("en", "very_hard", 0.1),
        "2": ("en", "very_hard", 0.15),
        "3": ("en", "easy", 0.8),
        "4": ("zh", "very_hard", 0.1),
        "5": ("zh", "adversarial", 0.05),
        "6": ("zh", "medium", 0.5),
        "7": ("en", "hard", 0.2),  # inferred from the score
        "8": ("en", "medium", 0.5),  # nothing to go on: medium
        "12": ("en", "adversarial", 0.05),
        "13": ("en", "hard", 0.2),
    }
    for rid, (lang, difficulty, propensity) in expected.items():
        s = by_id[rid]
        assert (s.language, s.difficulty, s.buy_propensity) == (lang, difficulty, propensity), rid
        assert s.source == "salesllm"
    record = MESSY[0]
    assert by_id["1"].customer_prompt == record["user_system_prompt"]  # verbatim
    assert by_id["1"].salesperson_prompt == record["assistant_system_prompt"]
    assert by_id["1"].trigger == record["trigger_sentence_en"]
    assert by_id["4"].trigger == record["trigger_sentence_zh"]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("very_hard", "very_hard"),
        ("Very Hard", "very_hard"),
        ("VERY-HARD", "very_hard"),
        ("veryhard", "very_hard"),
        ("非常困难", "very_hard"),
        ("很困难", "very_hard"),
        ("简单", "easy"),
        (" Easy ", "easy"),
        ("中等", "medium"),
        ("Medium", "medium"),
        ("困难", "hard"),
        ("hard", "hard"),
        ("对抗性", "adversarial"),
        ("对抗", "adversarial"),
        ("Adversarial", "adversarial"),
        ("banana", None),
    ],
)
def test_difficulty_labels(label, expected):
    assert parse_difficulty(label) == expected


def test_score_to_difficulty():
    assert [difficulty_from_score(x) for x in (0.9, 0.5, 0.3, 0.12, 0.06, 0.0)] == [
        "easy",
        "medium",
        "hard",
        "very_hard",
        "adversarial",
        "adversarial",
    ]
    assert read_difficulty("Buying inclination score : 0.8") == (None, 0.8)
    assert read_difficulty("nothing") == (None, None)


def test_salesllm_scenarios_run_in_the_env(messy_file):
    import salesenv
    from salesenv.agents import ScriptedSalesAgent
    from salesenv.evaluation import run_episode

    with pytest.warns(SuiteFormatWarning):
        suite = load_suite(messy_file)
    env = salesenv.make("SalesLLM-en-hard", scenarios=list(suite))
    for i, s in enumerate(suite):
        record = run_episode(env, ScriptedSalesAgent(), seed=i, options={"scenario": s})
        assert record.scenario_id == s.id
        assert record.decision is not None
        assert 0.0 <= record.score["final"] <= 10.0
        customer_lines = [t["text"] for t in record.transcript if t["role"] == "customer"]
        assert customer_lines[0] == s.trigger


def test_file_without_usable_lines(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_record(1, "")) + "\n", encoding="utf-8")
    with pytest.warns(SuiteFormatWarning), pytest.raises(ValueError, match="no usable scenario"):
        load_suite(path)


# --- the official files: language from the text, one summary per file --------------------

OFFICIAL_SELLER_EN = (
    "You are a professional salesperson.\n\nPRODUCT_INFORMATION (private to you):\n"
    "Category: Lamps\nProduct Name: Lumo Desk Lamp - Dimmable\nProduct Description:\n"
    "The Lumo lamp has five brightness levels. Its arm folds flat for travel.\n"
    "Price: $35\nDetails:\nBrand: Lumo\nTwo-year warranty\n\nRules:\n- Speak strictly in English.\n"
)
OFFICIAL_SELLER_ZH = (
    "你是一名专业的销售人员。\n\n产品信息（仅供你参考）：\n品类: 灯具\n产品名称: 光影台灯 可调光\n"
    "产品描述:\n光影台灯有五档亮度。灯臂可折叠，方便出差携带。\n价格: 199元\n产品详情:\n品牌: 光影\n"
    "两年质保\n\n规则：\n- 严格使用中文交流。\n"
)
OFFICIAL_CUSTOMER_EN = (
    "- Difficulty level: hard\n- Buy-inclination score: 0.2\n"
    "- Persona: Skeptical, price-sensitive and risk-averse buyer.\n"
    "- decision_factors: Values warranty, reviews and price.\n- language: english\n"
)
OFFICIAL_CUSTOMER_ZH = (
    "- 难度等级：困难\n- 购买倾向评分：0.2\n- 人设：极度怀疑、对价格敏感的买家。\n"
    "- 决策因素：重视售后服务、用户评价和价格。\n- 语言：中文\n"
)


def _official(rid, customer, seller, language="chinese"):
    return {
        "id": rid,
        "language": language,
        "user_system_prompt": customer,
        "assistant_system_prompt": seller,
        "trigger_sentence_zh": "你好，我想买台灯。",
        "trigger_sentence_en": "Hi, I'm looking for a desk lamp.",
    }


@pytest.fixture
def official_en_file(tmp_path):
    """An English file whose rows all say "chinese", as the official files do, with a
    placeholder customer prompt, a cut-off salesperson prompt, an unknown product layout
    and a malformed line."""
    unknown = OFFICIAL_SELLER_EN.replace("Category: Lamps\n", "| a | table |\n|---|---|\n").replace(
        "Product Name: Lumo Desk Lamp - Dimmable\n", ""
    )
    for key in ("Product Description:\n", "Price: $35\n", "Details:\n", "Brand: Lumo\n"):
        unknown = unknown.replace(key, "")
    rows = [
        _official("e1", OFFICIAL_CUSTOMER_EN, OFFICIAL_SELLER_EN),
        _official("e2", OFFICIAL_CUSTOMER_EN.replace("hard", "easy"), OFFICIAL_SELLER_EN),
        _official("e3", "Not needed", OFFICIAL_SELLER_EN),
        _official("e4", OFFICIAL_CUSTOMER_EN, "You are a professional salesperson."),
        _official("e5", OFFICIAL_CUSTOMER_EN, unknown),
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, '{"id": "e9", "user_system_prompt": ')  # malformed
    path = tmp_path / "conversations_en.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_official_file_language_from_text_with_one_summary(official_en_file):
    from salesenv.scenarios import SuiteSummaryWarning

    with pytest.warns(SuiteFormatWarning) as caught:
        suite = load_suite(official_en_file)
    summaries = [str(w.message) for w in caught if w.category is SuiteSummaryWarning]
    per_line = [str(w.message) for w in caught if w.category is SuiteFormatWarning]
    assert len(summaries) == 1  # one per file, not one per line
    summary = summaries[0]
    assert (
        "3 of the 3 loaded lines declare language 'zh'" in summary and "loaded as 'en'" in summary
    )
    assert "language=" in summary and "--suite-language" in summary
    assert "1 lines (line 6) hold product information in a layout" in summary
    assert "3 lines skipped" in summary
    assert any("line 3" in m and "skipped" in m for m in per_line)  # malformed JSON
    assert any("line 4 (id e3)" in m and "placeholder" in m for m in per_line)
    assert any("line 5 (id e4)" in m and "no product information" in m for m in per_line)
    assert [s.source_id for s in suite] == ["e1", "e2", "e5"]
    assert {s.language for s in suite} == {"en"}
    assert all(s.trigger == "Hi, I'm looking for a desk lamp." for s in suite)
    lamp = suite[0]
    assert lamp.product.name == "Lumo Desk Lamp" and lamp.product.price == "$35"
    assert lamp.persona.decision_factors[:3] == (
        "support_after_sales",
        "social_proof",
        "returns_cost",
    )
    assert (lamp.difficulty, lamp.buy_propensity) == ("hard", 0.2)
    assert suite[2].product is None and suite[2].persona is not None  # prompts-only product


def test_explicit_language_overrides_the_text(official_en_file):
    with pytest.warns(SuiteFormatWarning) as caught:
        suite = load_suite(official_en_file, language="zh")
    assert {s.language for s in suite} == {"zh"}
    assert all(s.trigger == "你好，我想买台灯。" for s in suite)
    assert not any("declare language" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="'zh' or 'en'"):
        load_suite(official_en_file, language="fr")
    assert {s.language for s in load_suite("salesllm-1805", language="en")} == {"en"}


def test_chinese_official_rows_need_no_warning_about_language(tmp_path):
    path = tmp_path / "zh.jsonl"
    path.write_text(
        json.dumps(_official("z1", OFFICIAL_CUSTOMER_ZH, OFFICIAL_SELLER_ZH), ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        suite = load_suite(path)
    assert suite[0].language == "zh" and suite[0].product.name == "光影台灯 可调光"
    assert suite[0].persona.decision_factors[:2] == ("support_after_sales", "social_proof")


def test_salesenv_eval_suite_language_option(official_en_file, tmp_path, capsys):
    from salesenv.cli import main

    out = tmp_path / "run"
    argv = ["eval", "--out", str(out), "--suite", str(official_en_file), "--no-progress"]
    status = main([*argv, "--suite-language", "zh", "agent=scripted"])
    assert status == 0
    played = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(played) == 3 and {r["language"] for r in played} == {"zh"}
    assert "declare language" not in capsys.readouterr().err


def test_official_dev_sample_reads_right():
    """The development sample of the official files (../shared), when present."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "shared" / "salesllm_official_dev"
    if not folder.is_dir():
        pytest.skip("no ../shared/salesllm_official_dev")
    for lang in ("en", "zh"):
        with pytest.warns(SuiteFormatWarning):
            suite = load_suite(folder / f"{lang}.jsonl")
        assert {s.language for s in suite} == {lang}
        sheets = [s.product for s in suite if s.product is not None]
        assert sum(len(p.facts) >= 3 for p in sheets) >= 0.95 * len(suite)
        assert all(len(s.persona.decision_factors) >= 2 for s in suite)
