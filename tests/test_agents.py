"""Baseline agents: the interface, the human agent, and the scripted agent's margins."""

from __future__ import annotations

import numpy as np
import pytest

import salesenv
from salesenv.agents import (
    HumanSalesAgent,
    PassiveSalesAgent,
    RandomSalesAgent,
    SalesAgent,
    ScriptedSalesAgent,
    product_facts,
)
from salesenv.agents.human import LeftConversation
from salesenv.evaluation import run_episode, summarize

DIFFICULTY_IDS = ("easy", "medium", "hard", "veryhard", "adversarial")
EPISODES = 40


@pytest.fixture(scope="module")
def scores():
    """Mean final score per (agent, language, difficulty id) over fixed seeds."""
    out = {}
    for lang in ("zh", "en"):
        for difficulty in DIFFICULTY_IDS:
            env = salesenv.make(f"SalesLLM-{lang}-{difficulty}")
            for agent in (ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent()):
                records = [run_episode(env, agent, seed=s) for s in range(EPISODES)]
                out[agent.name, lang, difficulty] = summarize(records, by=("agent",))[0]["final"]
    return out


@pytest.mark.parametrize(
    "agent_cls", [ScriptedSalesAgent, PassiveSalesAgent, RandomSalesAgent, HumanSalesAgent]
)
def test_agents_follow_the_interface(agent_cls):
    assert isinstance(agent_cls(), SalesAgent)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("difficulty", DIFFICULTY_IDS)
def test_scripted_beats_passive_and_random(scores, lang, difficulty):
    scripted = scores["scripted", lang, difficulty]
    assert scripted >= scores["passive", lang, difficulty] + 0.5
    assert scripted >= scores["random", lang, difficulty] + 1.0


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scripted_scores_fall_from_easy_to_adversarial(scores, lang):
    series = [scores["scripted", lang, d] for d in DIFFICULTY_IDS]
    assert series == sorted(series, reverse=True), series
    assert series[0] - series[-1] > 3.0


def test_random_agent_is_seeded():
    env = salesenv.make("SalesLLM-en-mixed")
    a = run_episode(env, RandomSalesAgent(), seed=9)
    b = run_episode(env, RandomSalesAgent(), seed=9)
    assert a.transcript == b.transcript


def test_human_agent_plays_through_the_terminal():
    typed = iter(["Hello! May I ask what matters most to you?", "", "Shall we go ahead?"] * 10)
    shown: list[str] = []
    agent = HumanSalesAgent(read=lambda prompt: next(typed), write=shown.append)
    record = run_episode(salesenv.make("SalesLLM-en-easy"), agent, seed=0)
    seller = [t["text"] for t in record.transcript if t["role"] == "salesperson"]
    assert seller[0] == "Hello! May I ask what matters most to you?"
    assert "PRODUCT_INFORMATION" in shown[0]
    assert any(line.startswith("customer> ") for line in shown)
    assert record.decision is not None


def test_human_agent_leaves_on_end_of_input_or_quit():
    def closed(prompt: str) -> str:
        raise EOFError

    env = salesenv.make("SalesLLM-zh-hard")
    with pytest.raises(LeftConversation):
        run_episode(env, HumanSalesAgent(read=closed, write=lambda line: None), seed=0)
    typed = iter(["您好", " /QUIT "])
    agent = HumanSalesAgent(read=lambda prompt: next(typed), write=lambda line: None)
    with pytest.raises(LeftConversation):
        run_episode(env, agent, seed=0)


def test_human_agent_sends_an_empty_line_as_silence():
    typed = iter([""] * 30)
    agent = HumanSalesAgent(read=lambda prompt: next(typed), write=lambda line: None)
    record = run_episode(salesenv.make("SalesLLM-zh-hard"), agent, seed=0)
    assert all(t["text"] == "" for t in record.transcript if t["role"] == "salesperson")
    assert record.decision == "brush_off"


def test_product_facts_from_prompt_only_scenarios():
    info = {
        "language": "en",
        "product": None,
        "system_prompt": "PRODUCT_INFORMATION:\n- Key facts:\n  - Price is $20 per month with no fees\n  - Free delivery within 2 days\n",
    }
    name, facts, points = product_facts(info)
    assert name == "this product" and points == ()
    factors = {f.factor for f in facts}
    assert {"returns_cost", "availability_delivery"} <= factors
    assert all("Key facts" not in f.text for f in facts)


def test_scripted_agent_speaks_the_scenario_language():
    from salesenv.cues import in_language

    for lang in ("zh", "en"):
        env = salesenv.make(f"SalesLLM-{lang}-mixed")
        for seed in range(10):
            record = run_episode(env, ScriptedSalesAgent(), seed=seed)
            for turn in record.transcript:
                if turn["role"] == "salesperson":
                    assert in_language(turn["text"], lang), turn["text"]


def test_summary_rows():
    env = salesenv.make("SalesLLM-en-easy")
    records = [run_episode(env, ScriptedSalesAgent(), seed=s) for s in range(5)]
    (row,) = summarize(records)
    assert row["episodes"] == 5 and row["agent"] == "scripted"
    assert row["final"] == pytest.approx(np.mean([r.score["final"] for r in records]))


def _sheet_info(language="en"):
    facts = [
        ("core_quality", "The shell is recycled aluminium"),
        ("safety_protection", "It carries CE certification"),
        ("safety_protection", "An overheating cut-off stops charging above 45 degrees"),
        ("availability_delivery", "It ships within 2 days"),
    ]
    return {
        "language": language,
        "round": 0,
        "product": {
            "name": "PowerCube",
            "facts": [{"factor": f, "text": t} for f, t in facts],
            "selling_points": [],
        },
    }


def test_scripted_agent_answers_the_opening_question_with_the_best_matching_fact():
    agent = ScriptedSalesAgent()
    info = _sheet_info()
    agent.reset(info)
    reply = agent.act(
        "Hi, I'm looking at power banks. Is it safe? I worry about overheating.", info
    )
    assert reply.startswith("Hello! I'm the advisor for PowerCube.")
    # The overheating fact, not the CE one, in the agent's own words (issue 15).
    assert "An overheating cut-off stops charging, as it happens, above 45 degrees" in reply
    assert reply.endswith("what you're hoping it will do for you?")
    # An opening without a question gets the plain greeting.
    agent.reset(info)
    assert agent.act("Hi, I'm looking at power banks.", info) == (
        "Hello! I'm the advisor for PowerCube. May I ask what matters most to you, "
        "and what you're hoping it will do for you?"
    )


def test_scripted_agent_names_a_gap_offers_a_related_fact_and_closes_on_a_pause():
    from salesenv.cues import lexicon

    lex = lexicon("en")
    agent = ScriptedSalesAgent()
    info = _sheet_info()
    agent.reset(info)
    agent.act("Hi there.", info)
    # A reaction before the question does not change its topic; the materials have no price.
    first = agent.act("Okay, that helps. How much is the aluminium one?", {**info, "round": 1})
    assert first.startswith("On how much: that detail isn't in my materials")
    assert lex.has("honest_unknown", first)
    assert "What I can tell you is this: The shell is recycled aluminium." in first
    again = agent.act("Fine. But how much is it, really?", {**info, "round": 2})
    assert again.startswith("I understand the concern.")
    assert "I still don't have a confirmed answer on how much" in again
    assert "What I can tell you is this:" in again
    # The customer pauses without a question: the agent asks for the sale.
    pause = agent.act("Right, I have a rough idea now.", {**info, "round": 3})
    assert pause.endswith("shall we go ahead and get you started?")
    assert lex.has("close", pause)


def test_scripted_agent_answers_the_opening_question_in_chinese():
    agent = ScriptedSalesAgent()
    info = _sheet_info("zh")
    info["product"]["facts"] = [
        {"factor": "returns_cost", "text": "价格是199元"},
        {"factor": "support_after_sales", "text": "保修两年，全国联保"},
        {"factor": "brand_trust", "text": "Brand是PowerCube"},
    ]
    agent.reset(info)
    reply = agent.act("你好，我想问问这个保修多久？", info)
    assert reply == (
        "您好！我是PowerCube的顾问。好问题。保修两年，全国联保。"
        "请问您主要想解决什么问题？您最看重哪些方面？"
    )
    gap = agent.act("安全吗？", {**info, "round": 1})
    assert gap == "关于安全，资料里没有写，我不乱说，核实后给您回复。我能确定的是：价格是199元。"
    # A pause: one more fact (its Latin capital kept in Chinese), then the close.
    pause = agent.act("我先消化一下你说的这些。", {**info, "round": 2})
    assert pause == "另外，Brand是PowerCube。如果这些符合您的需要，要不要我现在帮您办理？"
