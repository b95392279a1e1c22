"""GRPO training on salesenv conversations with TRL: datasets, rollouts, policies, evaluation.

One GRPO completion is one whole sales conversation: the policy writes the salesperson
turns, the env's customer answers, the customer's tokens are masked out of the loss and the
reward is the env's episode return (`salesenv.training.rollouts` explains TRL's contract).

    rows = episode_rows(["SalesLLM-en-easy"], num_prompts=64, first_seed=1000)
    rollout = SalesRollout(rows, max_turn_tokens=64, episode_token_budget=256)
    trainer = GRPOTrainer(model, reward_funcs=env_reward, train_dataset=Dataset.from_list(rows),
                          rollout_func=rollout, args=GRPOConfig(num_generations=4, ...))

The parts, one job per module, all importable from here:

- this module: the dataset (`episode_rows`, `build_dataset`) and `evaluate_policy`;
- `salesenv.training.rollouts`: `SalesRollout` (TRL's `rollout_func`), `play_episodes`,
  `ChatBridge`, `EnvPool` and the reward function `env_reward`;
- `salesenv.training.policies`: token-level policies (`hf_generate`, `trainer_generate`) and
  `load_policy`;
- `salesenv.training.tool_env`: `SalesToolEnvironment`, for models whose chat template supports
  tool calling, with `GRPOTrainer(environment_factory=...)`: the salesperson speaks by
  calling a `say` tool and TRL runs the multi-turn loop itself.

torch, transformers, datasets and trl are imported only inside the functions that need
them; importing this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import salesenv
from salesenv.training.policies import GenerateFn, hf_generate, load_policy, trainer_generate
from salesenv.training.rollouts import (
    ChatBridge,
    EnvPool,
    Episode,
    Messages,
    SalesRollout,
    StepMany,
    env_reward,
    play_episodes,
    prompt_key,
    step_local,
)
from salesenv.training.tool_env import SalesToolEnvironment

__all__ = [
    "ChatBridge",
    "EnvPool",
    "Episode",
    "GenerateFn",
    "Messages",
    "SalesRollout",
    "SalesToolEnvironment",
    "StepMany",
    "build_dataset",
    "env_reward",
    "episode_rows",
    "evaluate_policy",
    "hf_generate",
    "load_policy",
    "play_episodes",
    "prompt_key",
    "step_local",
    "trainer_generate",
]


def episode_rows(
    env_ids: str | Sequence[str],
    num_prompts: int,
    first_seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Dataset rows for GRPO: one scenario each, identified by env id and seed.

    Each row holds `prompt` (the salesperson's system prompt and the customer's opening as
    chat messages), `env_id` and `seed`. Seeds run upwards from `first_seed`, spread over
    the env ids in turn; a seed whose prompt equals an earlier row's is skipped, so a
    prompt names exactly one episode (the rollout function relies on it).

    Args:
        env_ids: One id ("SalesLLM-en-easy") or several.
        num_prompts: Rows to build.
        first_seed: The first seed tried; keep training seeds apart from evaluation seeds.
        env_kwargs: Extra `salesenv.make` arguments (max_rounds, ...).

    Raises:
        ValueError: If `num_prompts` < 1 or unique prompts run out.
    """
    ids = [env_ids] if isinstance(env_ids, str) else list(env_ids)
    if num_prompts < 1:
        raise ValueError(f"num_prompts must be >= 1, got {num_prompts}")
    envs = {env_id: salesenv.make(env_id, **dict(env_kwargs or {})) for env_id in ids}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    seed = first_seed
    misses = 0
    while len(rows) < num_prompts:
        env_id = ids[len(rows) % len(ids)]
        _, info = envs[env_id].reset(seed=seed)
        messages = [{"role": m["role"], "content": m["content"]} for m in info["messages"]]
        key = prompt_key(messages)
        if key in seen:
            misses += 1
            if misses > 100 * num_prompts:
                raise ValueError(f"found only {len(rows)} distinct prompts for {ids}")
        else:
            seen.add(key)
            rows.append({"prompt": messages, "env_id": env_id, "seed": seed})
        seed += 1
    for env in envs.values():
        env.close()
    return rows


def build_dataset(
    env_ids: str | Sequence[str],
    num_prompts: int,
    first_seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """`episode_rows` as a `datasets.Dataset` (columns prompt, env_id, seed)."""
    from datasets import Dataset

    return Dataset.from_list(episode_rows(env_ids, num_prompts, first_seed, env_kwargs))


def evaluate_policy(
    generate: GenerateFn,
    tokenizer: Any,
    env_ids: str | Sequence[str],
    seeds: Iterable[int],
    *,
    customer: Any = None,
    scorer: Any = None,
    env_kwargs: Mapping[str, Any] | None = None,
    max_turn_tokens: int = 256,
    episode_token_budget: int = 4096,
    chat_template_kwargs: Mapping[str, Any] | None = None,
    pool: Any = None,
    step_many: StepMany | None = None,
) -> list[float]:
    """Final scores of a policy on each env id and seed (e.g. greedy, before and after).

    Args:
        chat_template_kwargs: Variables for the policy's chat template
            (`{"enable_thinking": False}`), as for `SalesRollout`.
        pool, step_many: Envs from elsewhere (a server's sessions), as for
            `SalesRollout`; customer, scorer and env_kwargs then stay unset.

    Returns:
        One final blended score per (env id, seed), env ids outermost.
    """
    ids = [env_ids] if isinstance(env_ids, str) else list(env_ids)
    specs = [(env_id, seed) for env_id in ids for seed in seeds]
    episodes = play_episodes(
        specs,
        generate,
        tokenizer,
        envs=(pool or EnvPool(customer, scorer, env_kwargs)).envs(specs),
        max_turn_tokens=max_turn_tokens,
        episode_token_budget=episode_token_budget,
        chat_template_kwargs=chat_template_kwargs,
        step_many=step_many,
    )
    return [float(e.score) for e in episodes]
