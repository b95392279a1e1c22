"""LLMSalesAgent: the model under evaluation, batched in `salesenv eval`; the vector env's
per-conversation reset and step that the eval scheduler uses."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import salesenv
from salesenv.agents import BatchSalesAgent, LLMSalesAgent, ScriptedSalesAgent
from salesenv.cli import main
from salesenv.customers import PersonaCustomer
from salesenv.customers.chat import ChatBackend
from salesenv.results import load_results
from salesenv.runner import plan_episodes, run_planned


class EchoModel(ChatBackend):
    """A chat backend that records its calls and answers with a role-tagged pitch."""

    name = "echo"

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[list[list[dict]], list[int]]] = []

    def describe(self):
        return {"backend": self.name, "model": "/models/echo-7b"}

    def generate(self, conversations, seeds):
        self.calls.append(([list(c) for c in conversations], list(seeds)))
        return [f"  Salesperson: It has a two-year warranty. ({len(c)})  " for c in conversations]


def test_agent_sees_the_salesperson_chat_and_strips_a_role_tag():
    model = EchoModel()
    agent = LLMSalesAgent(model)
    assert agent.name == "llm:echo-7b" and isinstance(agent, BatchSalesAgent)
    assert agent.describe() == {
        "name": "llm:echo-7b",
        "seed": 0,
        "backend": "echo",
        "model": "/models/echo-7b",
    }
    env = salesenv.make("SalesLLM-en-medium")
    observation, info = env.reset(seed=4)
    agent.reset(info, seed=4)
    turn = agent.act(observation, info)
    assert turn == "It has a two-year warranty. (2)"
    conversations, seeds = model.calls[0]
    conversation = conversations[0]
    assert conversation[0] == {"role": "system", "content": info["system_prompt"]}
    assert conversation[1] == {"role": "user", "content": observation}
    # The seed depends on the episode seed and the round: a rerun samples the same turns.
    agent.reset(info, seed=4)
    agent.act(observation, info)
    agent.reset(info, seed=5)
    agent.act(observation, info)
    assert model.calls[1][1] == seeds and model.calls[2][1] != seeds


def test_agent_rejects_a_backend_without_generate():
    with pytest.raises(TypeError, match="needs a chat backend"):
        LLMSalesAgent(PersonaCustomer())


def test_runner_sends_every_running_conversation_to_the_model_in_one_call():
    model = EchoModel()
    agent = LLMSalesAgent(model, name="echo")
    envs = salesenv.make_vec("SalesLLM-en-hard", num_envs=4, max_rounds=3)
    plans = plan_episodes("echo", "SalesLLM-en-hard", 6, 1, 0, from_list=False)
    records = []
    run_planned(envs, agent, plans, records.extend, versions={})
    assert sorted(r["index"] for r in records) == list(range(6))
    sizes = [len(conversations) for conversations, _ in model.calls]
    assert max(sizes) == 4 and sum(sizes) == sum(r["rounds"] for r in records)
    assert all(
        t["text"].startswith("It has a two-year warranty")
        for r in records
        for t in r["transcript"]
        if t["role"] == "salesperson"
    )


def test_step_at_steps_only_the_named_conversations_with_one_customer_call():
    calls = []

    class Counting(PersonaCustomer):
        def respond(self, requests):
            calls.append(len(requests))
            return super().respond(requests)

    envs = salesenv.make_vec("SalesLLM-en-easy", num_envs=3, customer=Counting())
    for i in range(3):
        envs.reset_at(i, seed=10 + i)
    results = envs.step_at({0: "Hello! What matters most?", 2: "Hello! What matters most?"})
    assert set(results) == {0, 2} and calls == [2]
    assert envs.envs[1].round == 0
    # Play conversation 0 to its end; stepping it again needs reset_at.
    agent = ScriptedSalesAgent()
    observation, info = envs.reset_at(0, seed=1)
    agent.reset(info, seed=1)
    done = False
    while not done:
        observation, _, terminated, truncated, info = envs.step_at(
            {0: agent.act(observation, info)}
        )[0]
        done = terminated or truncated
    with pytest.raises(gym.error.ResetNeeded, match="reset_at"):
        envs.step_at({0: "Still there?"})


@pytest.mark.llm
def test_eval_with_the_tiny_model_as_salesperson(tmp_path, capsys):
    pytest.importorskip("transformers")
    from salesenv.customers.tiny_model import tiny_model_dir

    out = tmp_path / "run"
    status = main(
        [
            "eval",
            "--out",
            str(out),
            "--suite",
            "SalesLLM-en-easy",
            "--episodes",
            "3",
            "--num-envs",
            "3",
            "--no-progress",
            "agent=llm",
            f"agents.llm.backend.model={tiny_model_dir()}",
            "agents.llm.name=smollm2",
            "agents.llm.backend.sampling.max_new_tokens=24",
            "env.max_rounds=2",
        ]
    )
    assert status == 0, capsys.readouterr().err
    records = load_results(out)
    assert len(records) == 3 and all(r["agent"] == "smollm2" for r in records)
    for record in records:
        said = [t["text"] for t in record["transcript"] if t["role"] == "salesperson"]
        assert said and all(isinstance(t, str) for t in said)
        assert 0 <= record["score"]["final"] <= 10
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["agents"] == ["smollm2"]
    assert manifest["agent_models"]["smollm2"]["model"].endswith("SmolLM2-135M-Instruct")
    assert records[0]["versions"]["agent"]["backend"] == "transformers"
