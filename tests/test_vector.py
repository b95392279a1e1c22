"""make_vec: one batched customer call per step, next-step autoreset, same results as single envs."""

from __future__ import annotations

import numpy as np
import pytest

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.customers import PersonaCustomer


class CountingCustomer(PersonaCustomer):
    """The persona customer, recording the size of every `respond` call."""

    def __init__(self):
        super().__init__()
        self.batches: list[int] = []

    def respond(self, requests):
        self.batches.append(len(requests))
        return super().respond(requests)


def test_one_backend_call_per_step_for_all_running_conversations():
    customer = CountingCustomer()
    envs = salesenv.make_vec("SalesLLM-en-mixed", num_envs=6, customer=customer)
    envs.reset(seed=0)
    ended = np.zeros(6, dtype=bool)
    for _ in range(25):
        _, _, terminated, truncated, _ = envs.step(
            tuple("May I ask what matters most?" for _ in range(6))
        )
        expected_callers = int((~ended).sum())
        assert customer.batches[-1] == expected_callers or expected_callers == 0
        ended = terminated | truncated
    assert len(customer.batches) <= 25
    assert max(customer.batches) == 6


def play_vector_against_singles(env_id: str, num: int, seed: int) -> list[dict]:
    """Plays the scripted agent on `make_vec(env_id)` and on `num` single envs with the same
    seeds and actions, asserting equal observations, rewards and flags at every step.

    Returns:
        Every info the single envs returned, in order.
    """
    envs = salesenv.make_vec(env_id, num_envs=num)
    observations, _ = envs.reset(seed=seed)
    singles = [salesenv.make(env_id) for _ in range(num)]
    agents = [ScriptedSalesAgent() for _ in range(num)]
    single_obs, single_infos = [], []
    for i, (env, agent) in enumerate(zip(singles, agents, strict=True)):
        obs, info = env.reset(seed=seed + i)
        agent.reset(info)
        single_obs.append(obs)
        single_infos.append(info)
    assert list(observations) == single_obs
    seen = []
    done = np.zeros(num, dtype=bool)
    while not done.all():
        actions = tuple(
            "" if done[i] else agents[i].act(single_obs[i], single_infos[i]) for i in range(num)
        )
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        for i in range(num):
            if done[i]:
                continue
            single_obs[i], reward, term, trunc, single_infos[i] = singles[i].step(actions[i])
            assert single_obs[i] == observations[i] and reward == rewards[i]
            assert (term, trunc) == (terminated[i], truncated[i])
            seen.append(single_infos[i])
        done |= terminated | truncated
    return seen


def test_vector_matches_single_envs():
    """The same seeds and actions give the same transcripts batched or one by one."""
    infos = play_vector_against_singles("SalesLLM-zh-hard", num=4, seed=100)
    assert sum("score" in info for info in infos) == 4


def test_finished_conversations_autoreset_on_the_next_step():
    envs = salesenv.make_vec("SalesLLM-en-easy", num_envs=2, max_rounds=1)
    envs.reset(seed=0)
    _, rewards, _, truncated, infos = envs.step(("Hello", "Hello"))
    assert truncated.all() and (rewards > 0).all()
    assert set(infos["decision"]) <= {"buy", "maybe", "no", "brush_off", "hostile"}
    _, rewards, terminated, truncated, infos = envs.step(("ignored", "ignored"))
    assert not (terminated.any() or truncated.any()) and (rewards == 0).all()
    assert all(info_round == 0 for info_round in infos["round"])  # fresh episodes


def test_bad_vector_arguments():
    envs = salesenv.make_vec("SalesLLM-en-easy", num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="2 envs"):
        envs.step(("only one",))
    with pytest.raises(ValueError, match="seeds"):
        envs.reset(seed=[1, 2, 3])
