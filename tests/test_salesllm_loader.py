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
