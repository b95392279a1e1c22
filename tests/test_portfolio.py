"""The portfolio variant: six persona-matched products, pitched and bought products, the
portfolio term of the score."""

from __future__ import annotations

import dataclasses
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import salesenv
from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.cues import lexicon
from salesenv.dialogue import Decision, Dialogue
from salesenv.evaluation import run_episode
from salesenv.portfolio_env import PortfolioSalesEnv
from salesenv.rewards.portfolio_score import PortfolioProfile, PortfolioScorer
from salesenv.scenarios import ScenarioSampler
from salesenv.scenarios.portfolio_scenarios import (
    FIT_THRESHOLD,
    PORTFOLIO_SIZE,
    PortfolioScenario,
    build_portfolio,
    named_products,
)

_LINES = {
    "en": {
        "open": "Hello! I'd recommend {name}. May I ask what matters most to you?",
        "fact": "{name}: {fact}.",
        "close": "Shall we get you started with {name}?",
    },
    "zh": {
        "open": "您好！我推荐{name}。请问您最看重哪些方面？",
        "fact": "{name}：{fact}。",
        "close": "{name}要不要我现在帮您办理？",
    },
}


class PitchAgent:
    """Pitches one product by name: answers each question with that product's facts, closes
    every third turn."""

    name = "pitch"

    def __init__(self, product_id: str):
        self.product_id = product_id

    def reset(self, info, seed=None):
        self.language = info["language"]
        self.product = next(p for p in info["products"] if p["id"] == self.product_id)
        self.used: set[str] = set()

    def act(self, observation, info):
        lines = _LINES[self.language]
        name = self.product["name"]
        if info["round"] == 0:
            return lines["open"].format(name=name)
        asked = lexicon(self.language).factors_in(observation)
        facts = self.product["facts"]
        fact = next((f for f in facts if f["factor"] in asked and f["text"] not in self.used), None)
        fact = fact or next((f for f in facts if f["text"] not in self.used), facts[0])
        self.used.add(fact["text"])
        text = lines["fact"].format(name=name, fact=fact["text"].rstrip("。. "))
        if info["round"] % 3 == 2:
            text += (" " if self.language == "en" else "") + lines["close"].format(name=name)
        return text


def _portfolio(language="en", difficulty="easy", seed=0) -> PortfolioScenario:
    rng = np.random.default_rng(seed)
    return build_portfolio(ScenarioSampler(language, difficulty).sample(rng), rng)


def _pick(scenario: PortfolioScenario, good: bool) -> str:
    """The best good fit, or the best-fitting product that does not fit."""
    items = [i for i in scenario.items if (i.fit >= scenario.fit_threshold) == good]
    return max(items, key=lambda i: i.fit).product.id


@pytest.mark.parametrize("env_id", ["SalesLLM-zh-hard-portfolio", "SalesLLM-en-mixed-portfolio"])
def test_check_env(env_id):
    check_env(salesenv.make(env_id).unwrapped)


def test_ids_resolve():
    assert len(salesenv.list_envs("portfolio")) == 12
    env = gym.make("salesenv/SalesLLM-en-easy-portfolio-v0")
    assert isinstance(env.unwrapped, PortfolioSalesEnv)
    with pytest.raises(ValueError, match="variant"):
        salesenv.list_envs("bundle")


def test_six_distinct_products_with_different_fits(language):
    for seed in range(30):
        scenario = _portfolio(language, "mixed", seed)
        ids = [i.product.id for i in scenario.items]
        assert len(ids) == len(set(ids)) == PORTFOLIO_SIZE
        assert scenario.product.id in ids  # the anchor, whose persona this is
        assert scenario.item(scenario.product.id).fit >= FIT_THRESHOLD
        fits = [i.fit for i in scenario.items]
        assert len(set(fits)) >= 3 and all(0.0 <= f <= 1.0 for f in fits)
        assert 1 <= len(scenario.good_fits) <= 4 and len(scenario.good_fits) < PORTFOLIO_SIZE
        domains = {i.product.domain for i in scenario.items}
        assert domains == {scenario.product.domain}
        for item in scenario.items:
            assert item.product.name in scenario.salesperson_prompt
            assert named_products(item.product.name, scenario.items) == [item.product.id]
            assert named_products(item.short_name, scenario.items) == [item.product.id]
            for fact in item.product.facts:  # talking about a product names no other one
                assert set(named_products(fact.text, scenario.items)) <= {item.product.id}
                assert fact.text not in scenario.customer_prompt


def test_reset_shows_every_product_but_no_fit_and_no_anchor():
    env = salesenv.make("SalesLLM-zh-medium-portfolio")
    obs, info = env.reset(seed=3)
    scenario = env.unwrapped.scenario
    assert info["product"] is None and len(info["products"]) == PORTFOLIO_SIZE
    assert [p["id"] for p in info["products"]] == [i.product.id for i in scenario.items]
    assert scenario.product.name not in obs  # the opening names the category only
    assert scenario.product.category_name in obs
    blob = json.dumps(info, ensure_ascii=False)
    assert "fit" not in info and '"fit"' not in blob and info["pitched"] == []


def test_pitching_one_good_fit_records_it_and_it_is_bought():
    env = salesenv.make("SalesLLM-en-easy-portfolio")
    bought_once = False
    for seed in range(6):
        env.reset(seed=seed)
        good = _pick(env.unwrapped.scenario, good=True)
        record = run_episode(env, PitchAgent(good), seed=seed)
        portfolio = record.score["portfolio"]
        assert portfolio["pitched"] == [good]
        assert portfolio["precision"] == 1.0
        if record.decision == "buy":
            bought_once = True
            assert portfolio["bought"] == [good]
            assert portfolio["bought_share"] == pytest.approx(1 / len(portfolio["good_fits"]))
    assert bought_once


def test_a_product_that_does_not_fit_is_never_bought(language):
    env = salesenv.make(f"SalesLLM-{language}-easy-portfolio")
    for seed in range(8):
        env.reset(seed=seed)
        bad = _pick(env.unwrapped.scenario, good=False)
        record = run_episode(env, PitchAgent(bad), seed=seed)
        assert record.score["portfolio"]["pitched"] == [bad]
        assert record.decision != "buy" and record.score["portfolio"]["bought"] == []
        assert record.score["portfolio"]["precision"] == 0.0


def test_bought_products_always_fit():
    env = salesenv.make("SalesLLM-en-easy-portfolio")
    for seed in range(15):
        _, info = env.reset(seed=seed)
        names = ", ".join(p["name"] for p in info["products"])  # pitches all six at once
        _, _, terminated, truncated, info = env.step(f"We have {names}. Shall we get you started?")
        while not (terminated or truncated):
            _, _, terminated, truncated, info = env.step("May I ask what matters most to you?")
        good = set(env.unwrapped.scenario.good_fits)
        assert len(info["pitched"]) == PORTFOLIO_SIZE
        assert set(info["bought"]) <= good
        assert info["score"]["portfolio"]["precision"] == pytest.approx(len(good) / PORTFOLIO_SIZE)


def test_score_prefers_pitching_a_good_fit_over_a_bad_one(language):
    env = salesenv.make(f"SalesLLM-{language}-medium-portfolio")
    wins = []
    for seed in range(6):
        env.reset(seed=seed)
        scenario = env.unwrapped.scenario
        good = run_episode(env, PitchAgent(_pick(scenario, good=True)), seed=seed)
        bad = run_episode(env, PitchAgent(_pick(scenario, good=False)), seed=seed)
        assert good.score["final"] > bad.score["final"]
        assert good.score["portfolio"]["points"] > bad.score["portfolio"]["points"]
        wins.append(good.score["portfolio"]["blended"] >= bad.score["portfolio"]["blended"])
    assert np.mean(wins) >= 0.5  # the customer itself also prefers the good fit


def test_final_score_is_the_documented_formula():
    env = salesenv.make("SalesLLM-en-easy-portfolio")
    record = run_episode(env, ScriptedSalesAgent(), seed=1)
    score, parts = record.score, record.score["portfolio"]
    points = 10 * (parts["precision"] + parts["bought_share"]) / 2
    assert parts["points"] == pytest.approx(points)
    assert score["final"] == pytest.approx(0.7 * parts["blended"] + 0.3 * points)
    assert parts["blended"] == pytest.approx(0.5 * score["intent"] + 0.5 * score["judge"])
    assert (parts["profile"], parts["version"], parts["beta"]) == ("portfolio", "1", 0.3)


def test_the_portfolio_scorer_gives_the_env_its_score():
    env = salesenv.make("SalesLLM-en-easy-portfolio")
    obs, info = env.reset(seed=1)
    agent = ScriptedSalesAgent()
    agent.reset(info)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info))
        done = terminated or truncated
    unwrapped = env.unwrapped
    assert isinstance(unwrapped.scorer, PortfolioScorer)
    dialogue = unwrapped.dialogue(Decision(info["decision"]) if info["decision"] else None)
    [again] = PortfolioScorer(profile=unwrapped.portfolio_profile).score_batch([dialogue])
    assert again.as_dict() == info["score"] and reward == again.final == info["score"]["final"]
    assert again.blended.final == info["score"]["portfolio"]["blended"]
    assert info["bought"] == info["score"]["portfolio"]["bought"]
    with pytest.raises(TypeError, match="PortfolioScenario"):
        plain = ScenarioSampler("en", "easy").sample(np.random.default_rng(0))
        PortfolioScorer().score_batch([Dialogue(plain, dialogue.turns)])


def test_portfolio_profile_numbers():
    profile = PortfolioProfile()
    parts = profile.score(6.0, pitched=["a", "x"], bought=["a"], good=["a", "b"])
    assert parts["precision"] == 0.5 and parts["bought_share"] == 0.5
    assert parts["points"] == 5.0 and parts["final"] == pytest.approx(0.7 * 6 + 0.3 * 5)
    assert profile.score(6.0, [], [], ["a"])["points"] == 0.0
    with pytest.raises(ValueError, match="beta"):
        PortfolioProfile(beta=1.5)


def test_same_seed_same_portfolio_and_episode():
    env = salesenv.make("SalesLLM-zh-hard-portfolio")
    a, b, c = (run_episode(env, ScriptedSalesAgent(), seed=s) for s in (7, 7, 8))
    assert a.transcript == b.transcript and a.score == b.score
    assert a.scenario_id != c.scenario_id


def test_scripted_agent_bundles_the_requested_category():
    env = salesenv.make("SalesLLM-en-medium-portfolio")
    scores = {}
    for agent in (ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent()):
        records = [run_episode(env, agent, seed=s) for s in range(15)]
        scores[agent.name] = np.mean([r.score["final"] for r in records])
        if agent.name == "scripted":
            assert all(r.score["portfolio"]["precision"] == 1.0 for r in records)
            assert any(len(r.score["portfolio"]["bought"]) >= 2 for r in records)
    assert scores["scripted"] > max(scores["passive"], scores["random"]) + 2.0


def test_scenario_round_trip_and_bad_input():
    scenario = _portfolio("zh", "hard", 4)
    again = PortfolioScenario.from_dict(json.loads(json.dumps(scenario.to_dict())))
    assert again == scenario and again.id == scenario.id
    env = salesenv.make("SalesLLM-zh-hard-portfolio")
    _, info = env.reset(options={"scenario": scenario.to_dict()})
    assert info["scenario_id"] == scenario.id
    base = ScenarioSampler("en", "hard").sample(np.random.default_rng(0))
    prompts_only = dataclasses.replace(base, product=None, persona=None)  # like SalesLLM files
    with pytest.raises(ValueError, match="structured product"):
        build_portfolio(prompts_only, np.random.default_rng(0))


def test_make_vec_runs_the_variant():
    envs = salesenv.make_vec("SalesLLM-en-easy-portfolio", num_envs=3)
    assert all(isinstance(e, PortfolioSalesEnv) for e in envs.envs)
    _, infos = envs.reset(seed=0)
    assert all(len(p) == PORTFOLIO_SIZE for p in infos["products"])
    finished = 0
    for _ in range(25):
        _, rewards, terminated, truncated, infos = envs.step(
            tuple("May I ask what matters most to you?" for _ in range(3))
        )
        finished += int(np.sum(terminated | truncated))
        assert all(0.0 <= r <= 10.0 for r in rewards)
    assert finished >= 3
