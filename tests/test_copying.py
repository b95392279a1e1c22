"""Verbatim copying of the product information: detection, records, the judge's penalty,
the scripted agent's own words, and the end-to-end effect on the score."""

from __future__ import annotations

import numpy as np
import pytest

from salesenv.agents import ScriptedSalesAgent
from salesenv.agents.restate import restate
from salesenv.cues import claimed_numbers, tokens
from salesenv.customers import PersonaCustomer
from salesenv.customers.profile import fact_sheet
from salesenv.customers.turn_checks import (
    COPY_THRESHOLD,
    CopyIndex,
    check_turn,
    copy_index,
    copy_units,
)
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.env import SalesEnv
from salesenv.evaluation import play, run_episode
from salesenv.report import copied_share, turns_table
from salesenv.rewards import RubricJudge
from salesenv.runner import select_suite
from salesenv.scenarios import ScenarioSampler
from salesenv.scenarios.scenario import Scenario
from salesenv.scenarios.suites import load_suite

EN_FACT = (
    "Email reminder 7 days before auto-renewal, one-tap cancellation in the app and a "
    "pro-rata refund for unread issues"
)
ZH_FACT = "跟踪中证红利低波动指数，选取股息率高、波动低的50只股票"


def test_units_drop_case_whitespace_and_punctuation():
    assert copy_units("One-tap  Cancellation, in the APP!", "en") == [
        "one",
        "tap",
        "cancellation",
        "in",
        "the",
        "app",
    ]
    # Chinese: one unit per character, a digit or Latin run is one unit; full width folded.
    assert copy_units("App内，２４小时发货！", "zh") == ["app", "内", "24", "小", "时", "发", "货"]


@pytest.mark.parametrize(
    ("language", "fact", "turn", "span"),
    [
        # A short term reused is not copying ...
        (
            "en",
            "Free returns within 30 days, no questions asked",
            "We have 30-day free returns.",
            2,
        ),
        ("en", EN_FACT, "You'll get an email reminder a week before it renews.", 2),
        ("zh", "下单后24小时内发货，顺丰包邮", "我们24小时内发货。", 6),
        ("zh", ZH_FACT, "它跟踪的是中证红利低波动指数。", 9),
        # ... a pasted fact is, whatever its case, spacing and punctuation.
        ("en", EN_FACT, f"Sure! {EN_FACT.upper()}.", 21),
        ("en", EN_FACT, "email reminder 7 days before auto renewal one tap cancellation", 10),
        ("zh", ZH_FACT, f"好问题。{ZH_FACT}。", 25),
        ("zh", ZH_FACT, "它跟踪 中证红利低波动指数 选取股息率高", 17),
    ],
)
def test_longest_span_and_threshold_both_sides(language, fact, turn, span):
    index = CopyIndex(language, [fact])
    assert index.longest_span(turn) == span
    assert index.copied(turn) is (span >= COPY_THRESHOLD[language])


def test_thresholds_separate_terms_from_facts():
    assert COPY_THRESHOLD == {"en": 8, "zh": 12}
    index = CopyIndex("en", ["Team plans are available from 5 seats and up to 50 seats"])
    assert not index.copied("team plans are available from 5 seats")  # 7 words
    assert index.copied("team plans are available from 5 seats and up")  # 9 words


def test_span_never_runs_across_two_sources():
    index = CopyIndex("en", ["one two three four", "five six seven eight"])
    assert index.longest_span("one two three four five six seven eight") == 4


def test_copy_index_of_a_scenario_holds_facts_and_selling_points(scenario):
    index = copy_index(scenario)
    assert index is copy_index(scenario)  # cached
    assert index.sources == (
        *(f.text for f in scenario.product.facts),
        *scenario.product.selling_points,
    )
    assert not index.copied(scenario.product.name)


def test_prompts_only_scenario_indexes_its_product_section_without_headings():
    prompt = (
        "You are a salesperson.\n\nPRODUCT_INFORMATION (private to you):\n"
        "Product Name: Aurora Ultra Quiet Noise Cancelling Wireless Over Ear Headphones\n"
        "Price: $199\n"
        "- Battery lasts 40 hours on a single charge with noise cancelling switched on\n\n"
        "Rules:\n- Never quote the battery lasts 40 hours on a single charge with noise\n"
    )
    scenario = Scenario("en", "medium", 0.5, "You are a customer.", prompt, "Hi.")
    index = copy_index(scenario)
    assert len(index.sources) == 1 and "Battery lasts 40 hours" in index.sources[0]
    assert not index.copied(
        "I'm the advisor for Aurora Ultra Quiet Noise Cancelling Wireless Over Ear Headphones"
    )
    assert index.copied("the battery lasts 40 hours on a single charge, even with ANC")


def test_check_turn_reports_the_copy(scenario):
    fact = scenario.product.facts[0].text
    sheet, index = fact_sheet(scenario), copy_index(scenario)
    pasted = check_turn(fact, scenario.language, sheet, [], index)
    assert pasted.copied and pasted.copied_span == len(copy_units(fact, scenario.language))
    own = check_turn(restate(fact, scenario.language), scenario.language, sheet, [], index)
    assert not own.copied and 0 < own.copied_span < COPY_THRESHOLD[scenario.language]
    assert check_turn(fact, scenario.language, sheet, []).copied is False  # not checked


@pytest.mark.parametrize(
    ("language", "fact"),
    [
        ("en", EN_FACT),
        ("en", "Rated 4.7 by the running community across 20,000 runner reviews"),
        (
            "en",
            "Tracks the CSI Dividend Low Volatility Index of 50 stocks with high dividend yields and low volatility",
        ),
        ("zh", ZH_FACT),
        ("zh", "电商平台累计30,000多条用户评价，好评率97%"),
        ("zh", "每台设备最多可离线下载1000首歌"),
    ],
)
def test_restatement_keeps_numbers_and_terms_but_not_the_wording(language, fact):
    said = restate(fact, language)
    assert CopyIndex(language, [fact]).longest_span(said) < COPY_THRESHOLD[language]
    assert claimed_numbers(said) == claimed_numbers(fact)
    kept = tokens(fact, language) & tokens(said, language)
    assert len(kept) / len(tokens(fact, language)) >= 0.8
    assert said != fact


def test_restatement_examples():
    assert restate(
        "Delivered within 15 days, carried up to your space and assembled for you", "en"
    ) == (
        "Delivered within 15 days, on top of that carried up to your space plus assembled for you"
    )
    assert (
        restate("App内置学习专注歌单和25分钟专注计时模式", "zh")
        == "App内置学习专注歌单，以及25分钟专注计时模式"
    )


def test_a_fact_shorter_than_the_threshold_is_said_as_it_is():
    assert restate("保修两年，全国联保。", "zh") == "保修两年，全国联保"  # 8 characters
    assert restate("Free returns within 30 days.", "en") == "Free returns within 30 days"


def test_scripted_agent_restates_facts_in_both_languages_and_verbatim_pastes(scenario):
    sheet = fact_sheet(scenario)
    fact = scenario.product.facts[0]
    info = {"language": scenario.language, "product": scenario.to_dict()["product"], "round": 0}
    for verbatim in (False, True):
        agent = ScriptedSalesAgent(verbatim=verbatim)
        agent.reset(info)
        said = agent._say(fact)
        assert agent.name == ("scripted_verbatim" if verbatim else "scripted")
        assert copy_index(scenario).copied(said) is verbatim
        # The persona customer's lexical grounding credits both alike.
        assert fact.factor in sheet.grounded_factors(tokens(said, scenario.language))


def test_env_info_and_records_count_copied_turns(scenario):
    env = SalesEnv(customer=PersonaCustomer(understanding="lexical"))
    env.reset(seed=1, options={"scenario": scenario})
    fact = scenario.product.facts[0].text
    _, _, _, _, info = env.step(fact)
    assert (
        info["action_copied"] is True
        and info["action_copied_span"] >= COPY_THRESHOLD[scenario.language]
    )
    _, _, _, _, info = env.step(restate(fact, scenario.language))
    assert info["action_copied"] is False
    record = run_episode(
        env, ScriptedSalesAgent(verbatim=True), seed=1, options={"scenario": scenario}
    )
    assert record.copied_turns >= 1
    own = run_episode(env, ScriptedSalesAgent(), seed=1, options={"scenario": scenario})
    assert own.copied_turns == 0


def _dialogue(scenario, seller_lines):
    turns = [Turn("customer", scenario.trigger)]
    for line in seller_lines:
        turns += [Turn("salesperson", line), Turn("customer", "Okay.")]
    return Dialogue(scenario, tuple(turns), Decision.BUY)


def test_judge_penalises_a_pasted_fact(scenario):
    assert RubricJudge.version == "3"
    lang = scenario.language
    fact, other = (f.text for f in scenario.product.facts[1:3])
    greeting = {"en": "Hello! What matters most to you?", "zh": "您好！您最看重什么？"}[lang]
    close = {"en": "Shall we go ahead and get you started?", "zh": "要不要我现在帮您办理？"}[lang]
    pasted, own = RubricJudge().judge_batch(
        [
            _dialogue(scenario, [greeting, fact, other, close]),
            _dialogue(scenario, [greeting, restate(fact, lang), restate(other, lang), close]),
        ]
    )
    assert pasted.features["copied_turns"] == 2 and own.features["copied_turns"] == 0
    assert own.score == 5  # agreement asked for (3) + a next step (2)
    assert pasted.score == own.score - 1  # 2 copied turns x 0.5 points


def test_report_shows_the_share_of_copied_turns():
    records = [
        {
            "agent": "a",
            "rounds": 4,
            "flags": {"action_copied": 3},
            "score": {"final": 5.0},
            "terminated": True,
            "decision": "buy",
            "error": None,
        },
        {
            "agent": "a",
            "rounds": 6,
            "flags": {},
            "score": {"final": 6.0},
            "terminated": True,
            "decision": "no",
            "error": None,
        },
    ]
    assert copied_share(records) == pytest.approx(0.3)
    header, rows = turns_table(records)
    assert header[-1] == "copied turns" and rows[0][-1] == "0.30"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_pasting_scores_below_own_words_end_to_end(language):
    records = play(
        [ScriptedSalesAgent(), ScriptedSalesAgent(verbatim=True)],
        select_suite(load_suite("salesllm-1805"), language=language, limit=12),
        customer=PersonaCustomer(understanding="lexical"),
        num_envs=12,
    )
    by = {"scripted": [], "scripted_verbatim": []}
    for record in records:
        by[record["agent"]].append(record)
    own, pasted = (by[name] for name in ("scripted", "scripted_verbatim"))
    assert copied_share(own) == 0.0 and copied_share(pasted) > 0.5
    assert np.mean([r["score"]["final"] for r in own]) > np.mean(
        [r["score"]["final"] for r in pasted]
    )
    assert np.mean([r["score"]["judge"] for r in own]) > np.mean(
        [r["score"]["judge"] for r in pasted]
    )


def test_scenario_sampler_facts_are_all_restated_without_copies():
    for language in ("en", "zh"):
        sampler = ScenarioSampler(language)
        rng = np.random.default_rng(3)
        for _ in range(20):
            scenario = sampler.sample(rng)
            index = copy_index(scenario)
            for fact in scenario.product.facts:
                assert not index.copied(restate(fact.text, language)), fact.text


def test_the_product_name_is_never_a_copy_but_the_words_around_it_are():
    name = "紧凑型垂直气雾培草本花园套件"  # 14 characters, over the threshold of 12
    fact = "我们的紧凑型垂直气雾培草本花园采用先进的喷雾技术直接为植物供给营养"
    index = CopyIndex("zh", [fact], names=[name])
    assert CopyIndex("zh", [fact]).copied(f"我是{name}的顾问")  # without the name: flagged
    assert not index.copied(f"我是{name}的顾问")
    assert not index.copied("紧凑型垂直气雾培草本花园")  # the sheet's shortened name
    assert index.copied("花园采用先进的喷雾技术直接为植物供给营养")
    # A short generic run of the name ("frost free") still counts towards a copy.
    en = CopyIndex(
        "en",
        ["Frost free cooling with dual inverter compressors keeps the temperature steady"],
        names=["Hanbo French-Door Frost-Free Fridge"],
    )
    assert en.copied("frost free cooling with dual inverter compressors keeps it cool")


def test_restate_says_the_name_whole_and_still_copies_nothing():
    name = "Centennial Health Protection 3.0重大疾病保险"
    fact = f"{name}具备丰富营销亮点，保障全面，涵盖轻症和重大疾病，并提供身故保障"
    said = restate(fact, "zh", (name,))
    assert name in said
    assert not CopyIndex("zh", [fact], names=[name]).copied(said)
    # Without the name the cut may fall inside it, never inside a Latin run.
    assert "Health Protection" in restate(fact, "zh")
    # An opener keeps its comma: no connective right after it ("首先，而且…").
    assert restate("首先，保障全面，涵盖轻症、重大疾病，提供身故保障", "zh").startswith(
        "首先，保障全面"
    )
