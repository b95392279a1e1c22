"""Potential-based shaping: per-step rewards, the terminal potential, the invariant return."""

from __future__ import annotations

import pytest

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.rewards import DecisionIntentScorer, PotentialShaping, intent_potential


def _play(**overrides):
    env = salesenv.make("SalesLLM-en-medium", **overrides)
    agent = ScriptedSalesAgent()
    obs, info = env.reset(seed=4)
    agent.reset(info)
    rewards, infos, done = [], [], False
    while not done:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info))
        rewards.append(reward)
        infos.append(info)
        done = terminated or truncated
    return rewards, infos


def test_shaping_is_the_potential_difference_and_keeps_the_final_score():
    def potential(dialogue):  # any function of the dialogue so far
        return float(len(dialogue.turns))

    plain_rewards, plain_infos = _play()
    shaping = PotentialShaping(potential, weight=0.5, gamma=0.9)
    rewards, infos = _play(shaping=shaping)
    assert infos[-1]["score"] == plain_infos[-1]["score"]  # the dialogue is the same
    turns = 1
    for step, (reward, info) in enumerate(zip(rewards, infos, strict=True)):
        last = step == len(rewards) - 1
        after = 0.0 if last else float(turns + 2)
        assert info["shaping"] == pytest.approx(0.5 * (0.9 * after - turns))
        assert reward == pytest.approx(plain_rewards[step] + info["shaping"])
        turns += 2


def test_undiscounted_shaping_changes_every_return_by_the_same_amount():
    rewards, infos = _play(shaping=PotentialShaping(lambda d: float(len(d.turns)), weight=1.0))
    assert sum(rewards) == pytest.approx(
        infos[-1]["score"]["final"] - 1.0
    )  # minus the start potential


def test_intent_potential_and_no_shaping_by_default():
    _, infos = _play()
    assert "shaping" not in infos[0]
    _, infos = _play(shaping=PotentialShaping(intent_potential(DecisionIntentScorer()), weight=1.0))
    # The decision scorer sees no decision mid-dialogue: a constant 6 until Φ(end) = 0.
    assert all(info["shaping"] == 0.0 for info in infos[:-1])
    assert infos[-1]["shaping"] == -6.0
