"""GRPO rollouts (`salesenv.training`) and the TRL smoke test.

The rollout tests use a character-level fake tokenizer with a ChatML template and a
scripted fake policy, so they need neither torch nor a model. The smoke test (marked llm
and slow) trains the tiny policy for two optimiser steps with TRL's `GRPOTrainer`.
"""

from __future__ import annotations

import math

import pytest

import salesenv
from salesenv.training import (
    ChatBridge,
    SalesRollout,
    SalesToolEnvironment,
    env_reward,
    episode_rows,
    evaluate_policy,
    play_episodes,
    prompt_key,
)
from tests.import_probe import assert_stays_light

ENV_ID = "SalesLLM-en-easy"
SPECIAL = {"<|pad|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
LINES = [
    "Hello! What matters most to you when you choose?",
    "It comes with a clear warranty and free returns within 30 days.",
    "Shall we set up a trial this week? I can send the order link today.",
]


class FakeTokenizer:
    """One token per character plus ChatML's special tokens; eos is <|im_end|>."""

    eos_token = "<|im_end|>"
    eos_token_id = 2
    pad_token_id = 0

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def encode(self, text):
        ids, i = [], 0
        while i < len(text):
            for token, token_id in SPECIAL.items():
                if text.startswith(token, i):
                    ids.append(token_id)
                    i += len(token)
                    break
            else:
                ids.append(ord(text[i]) + 10)
                i += 1
        return ids

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": self.encode(text)}

    def decode(self, ids, skip_special_tokens=False):
        names = {v: k for k, v in SPECIAL.items()}
        return "".join(
            ("" if skip_special_tokens else names[i]) if i in names else chr(i - 10) for i in ids
        )


TOK = FakeTokenizer()


def scripted_policy(calls=None):
    """Says LINES in turn (by the number of assistant turns in the prompt), then eos."""

    def generate(prompts, max_new_tokens):
        if calls is not None:
            calls.append((len(prompts), max_new_tokens))
        out = []
        for prompt in prompts:
            turn = TOK.decode(prompt).count("<|im_start|>assistant") - 1
            out.append([*TOK.encode(LINES[turn % len(LINES)])[: max_new_tokens - 1], 2])
        return out, None

    return generate


def policy_turns(ids, mask):
    """The policy's turns: the runs of tokens with env_mask 1, decoded."""
    turns, current = [], []
    for token, m in zip(ids, mask, strict=True):
        if m:
            current.append(token)
        elif current:
            turns.append(TOK.decode(current, skip_special_tokens=True))
            current = []
    return turns + ([TOK.decode(current, skip_special_tokens=True)] if current else [])


def rollout(rows=None, **kwargs):
    rows = rows or episode_rows(ENV_ID, 3, first_seed=10, env_kwargs={"max_rounds": 4})
    defaults = {"env_kwargs": {"max_rounds": 4}, "max_turn_tokens": 80}
    defaults["episode_token_budget"] = 1000
    defaults.update(kwargs)
    return rows, SalesRollout(rows, generate=scripted_policy(), tokenizer=TOK, **defaults)


def test_episode_rows_are_unique_reproducible_and_carry_seed_and_env_id():
    rows = episode_rows(ENV_ID, 6, first_seed=5)
    assert rows == episode_rows(ENV_ID, 6, first_seed=5)
    assert len({prompt_key(r["prompt"]) for r in rows}) == 6
    assert {r["env_id"] for r in rows} == {ENV_ID}
    assert [m["role"] for m in rows[0]["prompt"]] == ["system", "user"]
    _, info = salesenv.make(ENV_ID).reset(seed=rows[2]["seed"])
    assert rows[2]["prompt"][1]["content"] == info["messages"][1]["content"]


def test_env_mask_is_one_exactly_on_policy_tokens():
    rows, func = rollout()
    out = func([r["prompt"] for r in rows])
    for prompt_ids, ids, mask in zip(
        out["prompt_ids"], out["completion_ids"], out["env_mask"], strict=True
    ):
        assert len(ids) == len(mask)
        policy = TOK.decode([t for t, m in zip(ids, mask, strict=True) if m == 1])
        customer = TOK.decode([t for t, m in zip(ids, mask, strict=True) if m == 0])
        assert all(line not in customer for line in LINES)
        assert policy.startswith(LINES[0] + "<|im_end|>")
        assert "<|im_start|>user\n" in customer and "<|im_start|>user" not in policy
        assert TOK.decode(prompt_ids).endswith("<|im_start|>assistant\n")
    # prompt + completion is exactly the chat template of the conversation (the customer's
    # final reply, after which no turn follows, is left out).
    specs = [(r["env_id"], r["seed"]) for r in rows]
    episodes = play_episodes(
        specs,
        scripted_policy(),
        TOK,
        envs=func.pool.envs(specs),
        max_turn_tokens=80,
        episode_token_budget=1000,
    )
    for episode in episodes:
        text = TOK.decode(episode.prompt_ids + episode.completion_ids)
        assert text == TOK.apply_chat_template(episode.messages[:-1]).removesuffix("\n")
        said = [m["content"] for m in episode.messages if m["role"] == "assistant"]
        assert said == policy_turns(episode.completion_ids, episode.env_mask)
        assert len(said) == episode.turns


def test_a_group_replays_one_scenario_and_the_reward_is_the_env_score():
    rows, func = rollout()
    group = [rows[1]["prompt"]] * 4
    out = func(group)
    assert len(set(map(tuple, out["completion_ids"]))) == 1  # same scenario, same customer
    assert len(set(out["env_reward"])) == 1
    assert out["env_reward"] == out["env_score"]
    # Replaying the policy's words in a fresh env with the row's seed gives the same score.
    env = salesenv.make(ENV_ID, max_rounds=4)
    env.reset(seed=rows[1]["seed"])
    for say in policy_turns(out["completion_ids"][0], out["env_mask"][0]):
        _, reward, terminated, truncated, _ = env.step(say)
    assert terminated or truncated
    assert reward == pytest.approx(out["env_reward"][0])
    # Another row is another scenario.
    other = func([rows[0]["prompt"]])
    assert other["prompt_ids"][0] != out["prompt_ids"][0]


def test_per_turn_limit_and_episode_budget_are_respected():
    calls = []
    rows = episode_rows(ENV_ID, 2, first_seed=3, env_kwargs={"max_rounds": 10})
    func = SalesRollout(
        rows,
        env_kwargs={"max_rounds": 10},
        max_turn_tokens=12,
        episode_token_budget=30,
        generate=scripted_policy(calls),
        tokenizer=TOK,
    )
    out = func([r["prompt"] for r in rows])
    for _ids, mask, score, turns in zip(
        out["completion_ids"], out["env_mask"], out["env_score"], out["env_turns"], strict=True
    ):
        assert sum(mask) <= 30
        runs = "".join(map(str, mask)).split("0")
        assert max(len(r) for r in runs) <= 12
        assert turns <= 3 and score is not None  # the env ended the episode and scored it
    assert all(limit <= 12 for _, limit in calls)
    pooled = list(func.pool)
    assert len(pooled) == 2  # one env per row, reused across calls
    assert all(env.max_rounds == 10 for env in pooled)  # the budget never touches max_rounds


def test_shaping_adds_to_the_return_and_env_reward_reads_it():
    from salesenv.rewards.shaping import PotentialShaping

    shaping = PotentialShaping(lambda dialogue: float(len(dialogue.turns)), weight=0.5)
    rows, func = rollout(shaping=shaping)
    out = func([r["prompt"] for r in rows])
    assert out["env_reward"] != out["env_score"]
    # Potential-based: the return differs from the score by -weight * phi(s0) = -0.5.
    for reward, score in zip(out["env_reward"], out["env_score"], strict=True):
        assert reward == pytest.approx(score - 0.5)
    assert env_reward(["x"] * 3, env_reward=out["env_reward"], prompts=[]) == out["env_reward"]
    with pytest.raises(ValueError, match="SalesRollout"):
        env_reward(["x"])


def test_unknown_prompt_fails_clearly():
    _, func = rollout()
    with pytest.raises(KeyError, match="same rows"):
        func([[{"role": "system", "content": "?"}, {"role": "user", "content": "hi"}]])


def test_evaluate_policy_returns_one_score_per_seed():
    scores = evaluate_policy(
        scripted_policy(), TOK, ENV_ID, range(3), env_kwargs={"max_rounds": 3}, max_turn_tokens=80
    )
    assert len(scores) == 3 and all(0 <= s <= 10 for s in scores)


def test_chat_bridge_reads_chatml():
    bridge = ChatBridge.from_tokenizer(TOK)
    assert bridge.close == "<|im_end|>\n"
    assert bridge.customer_text("hi", turn_ended=True) == (
        "\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert bridge.customer_text("hi", turn_ended=False).startswith("<|im_end|>\n")


def test_tool_environment_plays_an_episode_through_say():
    rows = episode_rows(ENV_ID, 1, first_seed=4, env_kwargs={"max_rounds": 3})
    env = SalesToolEnvironment(env_kwargs={"max_rounds": 3})
    assert env.reset(**rows[0]) is None
    replies = [env.say(line) for line in LINES]
    assert all(isinstance(r, str) and r for r in replies)
    assert env.done and env.say("more?") == "(The conversation is over.)"
    check = salesenv.make(ENV_ID, max_rounds=3)
    check.reset(seed=rows[0]["seed"])
    for line in LINES:
        _, reward, *_ = check.step(line)
    assert env.get_reward() == pytest.approx(reward)


@pytest.mark.llm
@pytest.mark.slow
def test_grpo_two_steps_on_the_tiny_policy(tmp_path):
    """Two optimiser steps of TRL's GRPOTrainer with rollouts through the env."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("trl")
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from salesenv.customers.tiny_model import tiny_model_dir

    path = tiny_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    env_kwargs = {"max_rounds": 2}
    rows = episode_rows(ENV_ID, 4, first_seed=100, env_kwargs=env_kwargs)
    func = SalesRollout(rows, env_kwargs=env_kwargs, max_turn_tokens=12, episode_token_budget=24)
    seen = []

    def spread(completions, **kwargs):
        # The tiny policy's scores often tie within a group of 2 (zero advantage, zero
        # gradient); this small tie-breaker makes the two steps move the weights.
        seen.append(kwargs["env_reward"])
        return [1e-3 * len(str(c)) for c in completions]

    args = GRPOConfig(
        output_dir=str(tmp_path),
        learning_rate=1e-4,
        num_generations=2,
        per_device_train_batch_size=2,
        max_steps=2,
        max_completion_length=24,
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[env_reward, spread],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        rollout_func=func,
    )
    trainer.train()
    assert trainer.state.global_step == 2
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses and all(math.isfinite(x) for x in losses)
    assert any("rewards/env_reward/mean" in h for h in trainer.state.log_history)
    assert seen and all(0.0 <= r <= 10.0 for batch in seen for r in batch)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])]
    assert changed, "no parameter changed after two GRPO steps"


def test_importing_the_training_module_stays_light():
    assert_stays_light("import salesenv.training", ("torch", "transformers", "trl", "datasets"))


def test_train_grpo_config_composes_with_debug_train_tiny():
    from hydra import compose, initialize_config_dir

    from salesenv.config import VLLMMode, env_ids
    from tests.test_examples import ROOT

    with initialize_config_dir(str(ROOT / "conf"), version_base=None):
        cfg = compose(
            "train_grpo",
            ["debug=train_tiny", "env.language=en", "env.difficulty=easy"],
        )
    assert env_ids(cfg.env) == [ENV_ID]
    assert cfg.train.policy_model == "tiny" and cfg.train.max_steps == 2
    assert cfg.train.vllm_mode == VLLMMode.colocate and not cfg.train.use_vllm
