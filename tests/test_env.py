"""SalesEnv: the Gymnasium API, determinism, the information barrier and bad actions."""

from __future__ import annotations

import dataclasses
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.env import SalesEnv
from salesenv.evaluation import run_episode
from salesenv.scenarios import ScenarioSampler


@pytest.mark.parametrize("env_id", salesenv.list_envs())
def test_check_env_passes_for_every_id(env_id, capsys):
    check_env(salesenv.make(env_id).unwrapped)


def test_registry_ids_and_aliases():
    ids = salesenv.list_envs()
    assert len(ids) == 36  # 12 plain ids, 12 long-horizon, 12 portfolio
    assert len(salesenv.list_envs("")) == 12
    assert "SalesLLM-zh-veryhard" in ids and "SalesLLM-en-mixed" in ids
    env = gym.make("salesenv/SalesLLM-zh-hard-v0")
    assert isinstance(env.unwrapped, SalesEnv)
    for alias in (
        "SalesLLM-en-veryhard",
        "SalesLLM-en-veryhard-v0",
        "salesenv/SalesLLM-en-veryhard-v0",
    ):
        unwrapped = salesenv.make(alias).unwrapped
        assert (unwrapped.sampler.language, unwrapped.sampler.difficulty) == ("en", "very_hard")


def test_unknown_id_suggests_close_matches():
    with pytest.raises(salesenv.UnknownEnvError, match="SalesLLM-zh-hard") as err:
        salesenv.make("SalesLLM-zh-hardd")
    assert "list_envs" in str(err.value)
    assert isinstance(err.value, gym.error.Error)


def test_reset_returns_trigger_and_salesperson_view():
    env = salesenv.make("SalesLLM-en-medium")
    obs, info = env.reset(seed=5)
    scenario = env.unwrapped.scenario
    assert obs == scenario.trigger
    assert info["messages"] == [
        {"role": "system", "content": scenario.salesperson_prompt},
        {"role": "user", "content": scenario.trigger},
    ]
    assert info["round"] == 0 and info["max_rounds"] == 20
    assert "difficulty" not in info


def _play(env_id: str, seed: int):
    env = salesenv.make(env_id)
    record = run_episode(env, ScriptedSalesAgent(), seed=seed)
    return record.transcript, record.score, record.decision


@pytest.mark.parametrize("env_id", ["SalesLLM-zh-hard", "SalesLLM-en-mixed"])
def test_same_seed_same_transcript_and_reward(env_id):
    a, b = _play(env_id, 42), _play(env_id, 42)
    assert a == b
    c = _play(env_id, 43)
    assert c[0] != a[0]


def test_reward_is_zero_until_the_end_then_the_blend():
    env = salesenv.make("SalesLLM-zh-easy")
    agent = ScriptedSalesAgent()
    obs, info = env.reset(seed=1)
    agent.reset(info)
    rewards, done = [], False
    while not done:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info))
        rewards.append(reward)
        done = terminated or truncated
    assert all(r == 0.0 for r in rewards[:-1])
    score = info["score"]
    assert (
        rewards[-1] == score["final"] == pytest.approx(0.5 * score["intent"] + 0.5 * score["judge"])
    )
    assert score["intent"] in (2.0, 4.0, 6.0, 8.0, 10.0)
    assert score["judge"] == int(score["judge"]) and 0 <= score["judge"] <= 10
    assert info["decision"] in ("buy", "maybe", "no", "brush_off", "hostile")
    assert info["difficulty"] == "easy"
    json.dumps(info)  # the whole info is JSON-serialisable


def test_round_limit_truncates_with_a_decision():
    env = salesenv.make("SalesLLM-en-medium", max_rounds=2)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("May I ask what matters most to you?")
    assert not (terminated or truncated)
    _obs, reward, terminated, truncated, info = env.step("May I ask what matters most to you?")
    assert truncated and not terminated
    assert info["decision"] is not None and reward == info["score"]["final"]


def test_step_after_the_end_needs_reset():
    env = SalesEnv("en", "medium", max_rounds=1)
    with pytest.raises(gym.error.ResetNeeded):
        env.step("hello")
    env.reset(seed=0)
    env.step("hello")
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step("hello again")


@pytest.mark.parametrize("action", [None, 3, b"bytes", ["hello"]])
def test_non_str_action_is_a_type_error(action):
    env = SalesEnv("zh", "hard")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="utterance as a str"):
        env.step(action)


def test_overlong_action_is_truncated_and_flagged():
    env = SalesEnv("en", "easy", max_action_chars=50)
    env.reset(seed=0)
    _, _, _, _, info = env.step("x" * 51)
    assert info["action_truncated"] is True
    assert len(info["messages"][-2]["content"]) == 50
    _, _, _, _, info = env.step("hi")
    assert info["action_truncated"] is False


def test_empty_action_is_a_wasted_turn():
    env = SalesEnv("zh", "medium")
    env.reset(seed=0)
    obs, reward, terminated, _truncated, info = env.step("")
    assert info["action_empty"] is True
    assert obs and not terminated and reward == 0.0


def test_text_spaces_accept_any_unicode():
    env = SalesEnv("zh", "hard")
    for text in ("您好，请问您最看重什么？", "emoji 😀 ok", "", "Ünïcödé"):
        assert env.action_space.contains(text)
    assert not env.action_space.contains("x" * (env.max_action_chars + 1))
    assert not env.action_space.contains(42)


HUGE_TEXT = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=40), st.integers(100, 400))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(st.one_of(st.text(max_size=300), HUGE_TEXT), min_size=1, max_size=25))
def test_random_unicode_never_crashes(actions):
    env = SalesEnv("en", "mixed")
    obs, _ = env.reset(seed=0)
    for action in actions:
        obs, reward, terminated, truncated, _info = env.step(action)
        assert env.observation_space.contains(obs)
        assert 0.0 <= reward <= 10.0
        if terminated or truncated:
            obs, _ = env.reset()


CANARIES = ("CANARY-CITY-7731", "CANARY-JOB-4410", "0.3377")


def _canary_scenario(language: str):
    base = ScenarioSampler(language, "hard").sample(np.random.default_rng(1))
    prompt = (
        base.customer_prompt.replace(base.persona.city, CANARIES[0])
        .replace(base.persona.occupation, CANARIES[1])
        .replace("0.20", CANARIES[2])
    )
    persona = dataclasses.replace(base.persona, city=CANARIES[0], occupation=CANARIES[1])
    return dataclasses.replace(base, customer_prompt=prompt, persona=persona, buy_propensity=0.3377)


def test_information_barrier(language):
    scenario = _canary_scenario(language)
    assert all(c in scenario.customer_prompt for c in CANARIES)
    env = salesenv.make(f"SalesLLM-{language}-hard")
    agent = ScriptedSalesAgent()
    for seed in range(5):
        obs, info = env.reset(seed=seed, options={"scenario": scenario})
        agent.reset(info)
        seen = [obs, json.dumps(info, ensure_ascii=False)]
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
            seen += [obs, json.dumps(info, ensure_ascii=False)]
            done = terminated or truncated
        blob = "\n".join(seen)
        for canary in CANARIES:
            assert canary not in blob
        assert scenario.customer_prompt not in blob
        assert "CUSTOMER_INFORMATION" not in blob
    for fact in scenario.product.facts:  # the other direction
        assert fact.text not in scenario.customer_prompt


def test_options_scenario_and_scenario_index():
    scenarios = [ScenarioSampler("en", "easy").sample(np.random.default_rng(i)) for i in range(3)]
    env = salesenv.make("SalesLLM-en-easy", scenarios=scenarios)
    _, info = env.reset(seed=0, options={"scenario_index": 2})
    assert info["scenario_id"] == scenarios[2].id
    _obs, info = env.reset(options={"scenario": scenarios[1].to_dict()})
    assert info["scenario_id"] == scenarios[1].id
    with pytest.raises(IndexError):
        env.reset(options={"scenario_index": 3})
    with pytest.raises(TypeError, match="Scenario"):
        env.reset(options={"scenario": "not a scenario"})
    drawn = {env.reset(seed=s)[1]["scenario_id"] for s in range(30)}
    assert drawn == {s.id for s in scenarios}


def test_make_vec_steps_many_conversations():
    envs = salesenv.make_vec("SalesLLM-zh-mixed", num_envs=4)
    obs, _ = envs.reset(seed=0)
    assert len(obs) == 4 and all(isinstance(o, str) and o for o in obs)
    finished = 0
    for _ in range(30):
        obs, rewards, terminated, truncated, _info = envs.step(
            tuple("请问您最看重什么？" for _ in range(4))
        )
        assert rewards.shape == (4,)
        finished += int(np.sum(terminated | truncated))
    assert finished >= 4  # episodes ended and autoreset
    envs.close()
    with pytest.raises(ValueError, match="num_envs"):
        salesenv.make_vec("SalesLLM-zh-mixed", num_envs=0)


def test_render_ansi():
    env = salesenv.make("SalesLLM-en-easy", render_mode="ansi")
    obs, _ = env.reset(seed=0)
    env.step("Hello there")
    text = env.render()
    assert text.splitlines()[0] == f"[customer] {obs}"
    assert "[salesperson] Hello there" in text


def test_last_turn_makes_the_customer_decide_and_ends_the_episode_scored():
    env = SalesEnv("en", "medium", max_rounds=10)
    env.reset(seed=0)
    request = env.begin_step("May I ask what matters most to you?")
    assert not request.must_decide
    _, _, terminated, truncated, _ = env.finish_step(env.customer.respond([request])[0])
    assert not (terminated or truncated) and env.round == 1
    request = env.begin_step("Shall we get you started?", last_turn=True)
    assert request.must_decide
    _, reward, terminated, truncated, info = env.finish_step(env.customer.respond([request])[0])
    assert truncated and not terminated
    assert info["decision"] is not None and reward == info["score"]["final"]
    assert env.max_rounds == 10 and info["max_rounds"] == 10  # nothing rewritten
    # step() takes it too, and a fresh env replaying the same words agrees.
    again = SalesEnv("en", "medium", max_rounds=10)
    again.reset(seed=0)
    again.step("May I ask what matters most to you?")
    *_, truncated, replay = again.step("Shall we get you started?", last_turn=True)
    assert truncated and replay["score"] == info["score"]


def test_dialogue_and_round_show_the_running_conversation():
    env = SalesEnv("en", "easy")
    obs, _ = env.reset(seed=2)
    assert env.round == 0 and env.earlier_sessions == ()
    assert [t.text for t in env.dialogue().turns] == [obs]
    reply, *_ = env.step("Hello!")
    dialogue = env.dialogue()
    assert env.round == 1 and dialogue.scenario is env.scenario and dialogue.decision is None
    assert [(t.role, t.text) for t in dialogue.turns[1:]] == [
        ("salesperson", "Hello!"),
        ("customer", reply),
    ]


def test_compact_prompt_is_short_and_episodes_score_as_with_the_full_prompt():
    records = {}
    for style in ("full", "compact"):
        env = salesenv.make("SalesLLM-en-easy", prompt_style=style)
        _, info = env.reset(seed=5)
        product = env.unwrapped.scenario.product
        records[style] = (info["system_prompt"], run_episode(env, ScriptedSalesAgent(), seed=5))
        env.close()
    full, compact = records["full"][0], records["compact"][0]
    assert len(compact) < 0.8 * len(full)
    assert product.name in compact and all(f.text in compact for f in product.facts)
    assert "Selling points" not in compact and product.selling_points[0] not in compact
    # Only the policy's prompt changes: the same actions meet the same customer and score.
    full_episode, compact_episode = records["full"][1], records["compact"][1]
    assert full_episode.transcript == compact_episode.transcript
    assert full_episode.score == compact_episode.score and full_episode.rounds > 1


def test_compact_prompt_needs_a_product_sheet():
    with pytest.raises(ValueError, match="prompt_style must be one of"):
        SalesEnv(prompt_style="short")
    scenario = dataclasses.replace(
        ScenarioSampler("en", "easy").sample(np.random.default_rng(0)), product=None
    )
    env = SalesEnv(language="en", scenarios=[scenario], prompt_style="compact")
    with pytest.raises(ValueError, match="needs a product sheet"):
        env.reset(seed=0)
