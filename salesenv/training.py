"""Turning salesenv episodes into TRL GRPO rollouts (multi-turn, customer tokens masked).

One GRPO completion is one whole sales conversation. The prompt is the salesperson's
system prompt and the customer's opening line; the completion is every salesperson turn
the policy wrote (`env_mask` 1, trained) interleaved with the customer's replies as the
chat template renders them (`env_mask` 0, context only). The reward is the env's episode
return: the blended final score, plus the potential-based shaping when the env has it.

    rows = episode_rows(["SalesLLM-en-easy"], num_prompts=64, first_seed=1000)
    rollout = SalesRollout(rows, max_turn_tokens=64, episode_token_budget=256)
    trainer = GRPOTrainer(model, reward_funcs=env_reward, train_dataset=Dataset.from_list(rows),
                          rollout_func=rollout, args=GRPOConfig(num_generations=4, ...))

TRL's contract (trl 1.16, `GRPOTrainer._generate`): `rollout_func(prompts, trainer)` gets
the prompts of this process's batch, already repeated `num_generations` times by TRL's
`RepeatSampler` (G consecutive copies), and returns a dict with `prompt_ids`,
`completion_ids` and `logprobs` (one list per prompt; logprobs may be None), optionally
`env_mask` (1 on model tokens, 0 on environment tokens; used as the loss mask); every other
key is copied into the batch's rows and reaches the reward functions as a keyword argument.
The rollout function does not see the dataset's other columns, so each prompt is mapped
back to its (env id, seed) through the rows it was built from: `episode_rows` keeps only
seeds whose prompt is unique. All G copies of a prompt replay the same seed, so they meet
the same scenario and the same customer, and the group baseline compares like with like.

The alternative for models whose chat template supports tool calling is
`SalesToolEnvironment` with `GRPOTrainer(environment_factory=...)`: the salesperson speaks
by calling a `say` tool and TRL runs the multi-turn loop itself.

torch, transformers, datasets and trl are imported only inside the functions that need
them; importing this module imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import salesenv
from salesenv.env import SalesEnv

#: Messages of a prompt as OpenAI-style dicts (role, content).
Messages = list[dict[str, str]]
#: A policy: token-id prompts and a token limit -> (completion ids, per-token logprobs or None).
GenerateFn = Callable[[list[list[int]], int], tuple[list[list[int]], list[list[float]] | None]]

_MARK_A = "\x00salesenv-assistant\x00"
_MARK_B = "\x00salesenv-user\x00"


def prompt_key(messages: Sequence[Mapping[str, Any]]) -> str:
    """A string that identifies a chat prompt by its roles and contents only."""
    return json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)


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


@dataclass(frozen=True)
class ChatBridge:
    """How a chat template joins turns, as text pieces around each customer reply.

    After a salesperson turn the template writes `close` (for ChatML: "<|im_end|>\\n"); a
    customer reply becomes `user_prefix + reply + user_suffix`, where the suffix ends
    with the generation prompt of the next salesperson turn. Learned once per tokenizer by
    rendering a conversation with marker strings.
    """

    close: str
    user_prefix: str
    user_suffix: str
    eos_text: str

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> ChatBridge:
        """Reads the pieces off `tokenizer.apply_chat_template`.

        Raises:
            ValueError: If the template rewrites earlier turns when a turn is added (the
                completion would then not be a continuation of the prompt).
        """
        head = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
        with_turn = [*head, {"role": "assistant", "content": _MARK_A}]
        one = tokenizer.apply_chat_template(with_turn, tokenize=False)
        two = tokenizer.apply_chat_template(
            [*with_turn, {"role": "user", "content": _MARK_B}],
            tokenize=False,
            add_generation_prompt=True,
        )
        if not two.startswith(one) or _MARK_A not in one or _MARK_B not in two:
            raise ValueError(
                "this chat template rewrites earlier turns when a turn is added; multi-turn "
                "rollouts need a template whose rendering of a conversation extends its prefix"
            )
        close = one[one.rindex(_MARK_A) + len(_MARK_A) :]
        prefix, suffix = two[len(one) :].split(_MARK_B)
        return cls(close, prefix, suffix, tokenizer.eos_token or "")

    def customer_text(self, reply: str, turn_ended: bool) -> str:
        """The text between a salesperson turn's last token and the next turn's first.

        Args:
            reply: The customer's words.
            turn_ended: Whether the salesperson's tokens already end with the EOS token
                (then the part of `close` that the EOS token wrote is not repeated).
        """
        close = self.close
        if turn_ended and self.eos_text and close.startswith(self.eos_text):
            close = close[len(self.eos_text) :]
        return close + self.user_prefix + reply + self.user_suffix


@dataclass
class Episode:
    """One rollout being played: its tokens, mask and return so far (`messages`: the
    whole chat once the episode is over)."""

    env: SalesEnv
    prompt_ids: list[int]
    completion_ids: list[int]
    env_mask: list[int]
    logprobs: list[float]
    budget_left: int
    max_rounds: int
    turn_ended: bool = True
    reward: float = 0.0
    score: float | None = None
    turns: int = 0
    done: bool = False
    messages: list[dict[str, str]] | None = None


class SalesRollout:
    """TRL's `rollout_func` for salesenv: plays one conversation per prompt.

    Salesperson turns of all running episodes are generated as one batch per round, and
    their customer replies come from one batched `customer.respond` call. A turn is at
    most `max_turn_tokens` tokens, and an episode's salesperson turns at most
    `episode_token_budget` tokens together; when a turn exhausts the budget the env is
    told that it is the last round (`max_rounds`), so the customer gives its final
    decision and the episode ends with the env's own score. The final customer reply is
    not appended (no turn follows it).

    Args:
        rows: The dataset rows (`episode_rows`, or a `datasets.Dataset` with columns
            prompt, env_id and seed): each prompt's episode.
        customer: The customer backend shared by every env (default: persona simulator).
        scorer: The episode scorer (default: the env's).
        env_kwargs: Extra `salesenv.make` arguments (max_rounds, ...).
        max_turn_tokens: Token limit of one salesperson turn.
        episode_token_budget: Token limit of all salesperson turns of an episode.
        shaping: Optional `PotentialShaping`: the env adds it to each step's reward and the
            rollout's reward is the episode return.
        generate: The policy; default: the trainer's model (vLLM when `use_vllm`, else
            transformers `generate`, sampling at the trainer's temperature).
        tokenizer: Default: the trainer's processing class.

    Returns (from `__call__`): `prompt_ids`, `completion_ids`, `logprobs`, `env_mask`, and
    for the reward functions `env_reward` (the return), `env_score` (the final blended
    score) and `env_turns` (salesperson turns played).
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        customer: Any = None,
        scorer: Any = None,
        env_kwargs: Mapping[str, Any] | None = None,
        max_turn_tokens: int = 256,
        episode_token_budget: int = 4096,
        shaping: Any = None,
        generate: GenerateFn | None = None,
        tokenizer: Any = None,
    ) -> None:
        if max_turn_tokens < 1 or episode_token_budget < 1:
            raise ValueError("max_turn_tokens and episode_token_budget must be >= 1")
        self.episodes = {prompt_key(r["prompt"]): (r["env_id"], int(r["seed"])) for r in rows}
        self.customer = customer
        self.scorer = scorer
        self.env_kwargs = dict(env_kwargs or {})
        self.max_turn_tokens = max_turn_tokens
        self.episode_token_budget = episode_token_budget
        self.shaping = shaping
        self.generate = generate
        self.tokenizer = tokenizer
        self._pool: dict[str, list[SalesEnv]] = {}
        self._bridge: ChatBridge | None = None

    def __call__(self, prompts: Sequence[Messages], trainer: Any = None) -> dict[str, list]:
        """Plays one episode per prompt (TRL's `rollout_func(prompts, trainer)`).

        Raises:
            KeyError: If a prompt is not one of the rows' prompts.
        """
        tokenizer = self.tokenizer or trainer.processing_class
        generate = self.generate or trainer_generate(trainer, tokenizer)
        specs = []
        for prompt in prompts:
            try:
                specs.append(self.episodes[prompt_key(prompt)])
            except KeyError:
                raise KeyError(
                    "a prompt that the rollout function was not built with: build "
                    "SalesRollout from the same rows as the training dataset"
                ) from None
        episodes = play_episodes(
            specs,
            generate,
            tokenizer,
            envs=self._envs(specs),
            max_turn_tokens=self.max_turn_tokens,
            episode_token_budget=self.episode_token_budget,
            sync=_process_sync(trainer),
        )
        return {
            "prompt_ids": [e.prompt_ids for e in episodes],
            "completion_ids": [e.completion_ids for e in episodes],
            "logprobs": None if self._no_logprobs(episodes) else [e.logprobs for e in episodes],
            "env_mask": [e.env_mask for e in episodes],
            "env_reward": [e.reward for e in episodes],
            "env_score": [e.score for e in episodes],
            "env_turns": [e.turns for e in episodes],
        }

    def _envs(self, specs: Sequence[tuple[str, int]]) -> list[SalesEnv]:
        """One env per episode, from a pool reused across calls."""
        needed: dict[str, int] = {}
        envs = []
        for env_id, _ in specs:
            pool = self._pool.setdefault(env_id, [])
            index = needed.get(env_id, 0)
            needed[env_id] = index + 1
            if index == len(pool):
                kwargs = dict(self.env_kwargs, shaping=self.shaping)
                if self.customer is not None:
                    kwargs["customer"] = self.customer
                if self.scorer is not None:
                    kwargs["scorer"] = self.scorer
                pool.append(salesenv.make(env_id, **kwargs).unwrapped)
            envs.append(pool[index])
        return envs

    @staticmethod
    def _no_logprobs(episodes: Sequence[Episode]) -> bool:
        return any(len(e.logprobs) != len(e.completion_ids) for e in episodes)


def play_episodes(
    specs: Sequence[tuple[str, int]],
    generate: GenerateFn,
    tokenizer: Any,
    *,
    envs: Sequence[SalesEnv],
    max_turn_tokens: int,
    episode_token_budget: int,
    sync: Callable[[bool], bool] | None = None,
) -> list[Episode]:
    """Plays the episodes `specs` (env id, seed) to the end with a token-level policy.

    Args:
        specs: (env id, seed) per episode.
        generate: The policy (see `GenerateFn`); it gets one prompt per running episode.
        tokenizer: Renders the chat and tokenizes customer replies.
        envs: Unwrapped envs, one per episode (reset here with the episode's seed).
        max_turn_tokens: Token limit of one salesperson turn.
        episode_token_budget: Token limit of an episode's salesperson turns.
        sync: For multi-process generation that needs every process in every call:
            maps "this process has running episodes" to "any process has"; the loop then
            calls `generate` (possibly with no prompts) until no process has one.

    Returns:
        The finished episodes, in the order of `specs`.
    """
    bridge = ChatBridge.from_tokenizer(tokenizer)
    episodes = []
    for (_, seed), env in zip(specs, envs, strict=True):
        _, info = env.reset(seed=seed)
        text = tokenizer.apply_chat_template(
            info["messages"], tokenize=False, add_generation_prompt=True
        )
        prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        episodes.append(Episode(env, prompt_ids, [], [], [], episode_token_budget, env.max_rounds))
    eos = tokenizer.eos_token_id
    try:
        while True:
            running = [e for e in episodes if not e.done]
            if not (sync(bool(running)) if sync is not None else running):
                break
            limit = max([min(max_turn_tokens, e.budget_left) for e in running], default=1)
            ids, logprobs = generate([e.prompt_ids + e.completion_ids for e in running], limit)
            requests = []
            for episode, turn_ids, turn_logprobs in zip(
                running, ids, logprobs or [None] * len(running), strict=True
            ):
                requests.append(
                    _salesperson_turn(
                        episode, turn_ids, turn_logprobs, max_turn_tokens, tokenizer, eos
                    )
                )
            for episode, reply in zip(running, _respond(running, requests), strict=True):
                observation, reward, terminated, truncated, info = episode.env.finish_step(reply)
                episode.reward += float(reward)
                episode.turns += 1
                if terminated or truncated:
                    episode.done = True
                    episode.score = float(info["score"]["final"])
                    episode.messages = info["messages"]
                    continue
                reply_ids = tokenizer(
                    bridge.customer_text(observation, episode.turn_ended), add_special_tokens=False
                )["input_ids"]
                if len(episode.logprobs) == len(episode.completion_ids):
                    episode.logprobs += [0.0] * len(reply_ids)
                episode.completion_ids += reply_ids
                episode.env_mask += [0] * len(reply_ids)
    finally:
        for episode in episodes:
            episode.env.max_rounds = episode.max_rounds
    return episodes


def _salesperson_turn(
    episode: Episode,
    turn_ids: Sequence[int],
    turn_logprobs: Sequence[float] | None,
    max_turn_tokens: int,
    tokenizer: Any,
    eos: int | None,
) -> Any:
    """Appends a generated turn to the episode and returns the env's customer request."""
    turn_ids = list(turn_ids)[: min(max_turn_tokens, episode.budget_left)]
    if turn_logprobs is not None and len(episode.logprobs) == len(episode.completion_ids):
        episode.logprobs += [float(x) for x in list(turn_logprobs)[: len(turn_ids)]]
    episode.completion_ids += turn_ids
    episode.env_mask += [1] * len(turn_ids)
    episode.budget_left -= len(turn_ids)
    episode.turn_ended = bool(turn_ids) and turn_ids[-1] == eos
    if episode.budget_left <= 0:
        # The budget is spent: this is the last round, so the customer decides now and
        # the env scores the episode as usual.
        episode.env.max_rounds = min(episode.env.max_rounds, episode.turns + 1)
    action = tokenizer.decode(turn_ids, skip_special_tokens=True).strip()
    return episode.env.begin_step(action)


def _respond(running: Sequence[Episode], requests: Sequence[Any]) -> list[Any]:
    """The customers' replies: one batched `respond` call per distinct backend."""
    replies: list[Any] = [None] * len(requests)
    groups: dict[int, list[int]] = {}
    for i, episode in enumerate(running):
        groups.setdefault(id(episode.env.customer), []).append(i)
    for indices in groups.values():
        customer = running[indices[0]].env.customer
        answers = customer.respond([requests[i] for i in indices])
        for i, answer in zip(indices, answers, strict=True):
            replies[i] = answer
    return replies


def env_reward(
    completions: list, env_reward: list[float] | None = None, **kwargs: Any
) -> list[float]:
    """TRL reward function: the episode return that the rollout function computed.

    Args:
        completions: The decoded completions (unused: the env already scored them).
        env_reward: The `env_reward` field of `SalesRollout`'s output, one per completion.
        **kwargs: The other batch fields (ignored).

    Raises:
        ValueError: If the rollout did not return `env_reward` (a trainer without
            `rollout_func=SalesRollout(...)`).
    """
    if env_reward is None:
        raise ValueError(
            "env_reward needs the rollouts of SalesRollout: pass rollout_func=SalesRollout(...)"
        )
    return [float(r) for r in env_reward]


# --- policies ----------------------------------------------------------------------------


def hf_generate(
    model: Any,
    tokenizer: Any,
    *,
    do_sample: bool = True,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> GenerateFn:
    """A policy from a transformers causal LM: left-padded batches, `model.generate`.

    Each completion is cut after its first EOS token (kept) and has no padding. Returns
    no logprobs (TRL then takes the training forward pass's as the old policy's).
    """
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = tokenizer.eos_token_id

    def generate(prompts: list[list[int]], max_new_tokens: int) -> tuple[list[list[int]], None]:
        if not prompts:
            return [], None
        width = max(len(p) for p in prompts)
        device = next(model.parameters()).device
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p}
        training = model.training
        model.eval()  # with the KV cache, even where training uses gradient checkpointing
        try:
            with torch.no_grad():
                out = model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=pad,
                    eos_token_id=eos,
                    **(sampling if do_sample else {"do_sample": False}),
                )
        finally:
            model.train(training)
        completions = []
        for row in out[:, width:].tolist():
            cut = row.index(eos) + 1 if eos in row else len(row)
            completions.append(row[:cut])
        return completions, None

    return generate


def trainer_generate(trainer: Any, tokenizer: Any) -> GenerateFn:
    """The trainer's policy: its vLLM engine when `use_vllm`, else its model's `generate`.

    With vLLM the per-turn limit is passed by setting the generation helper's
    `max_completion_length` for the call (TRL reads it at each call).
    """
    if getattr(trainer, "use_vllm", False):
        vllm = trainer.vllm_generation

        def generate(prompts: list[list[int]], max_new_tokens: int) -> tuple[list, list]:
            saved = vllm.max_completion_length
            vllm.max_completion_length = max_new_tokens
            try:
                _, ids, logprobs, _ = vllm.generate(prompts=prompts, images=None, num_generations=1)
            finally:
                vllm.max_completion_length = saved
            return ids, [[lp[0] for lp in seq] for seq in logprobs]

        return generate
    model = trainer.accelerator.unwrap_model(trainer.model)
    return hf_generate(
        model, tokenizer, temperature=trainer.temperature, top_p=getattr(trainer, "top_p", 1.0)
    )


def _process_sync(trainer: Any) -> Callable[[bool], bool] | None:
    """For vLLM server mode on several processes: "does any process still play?"."""
    if trainer is None or not getattr(trainer, "use_vllm", False):
        return None
    accelerator = trainer.accelerator
    if accelerator.num_processes == 1:
        return None
    import torch

    def sync(active: bool) -> bool:
        flag = torch.tensor([int(active)], device=accelerator.device)
        return bool(accelerator.gather(flag).sum().item())

    return sync


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
) -> list[float]:
    """Final scores of a policy on each env id and seed (e.g. greedy, before and after).

    Returns:
        One final blended score per (env id, seed), env ids outermost.
    """
    ids = [env_ids] if isinstance(env_ids, str) else list(env_ids)
    specs = [(env_id, seed) for env_id in ids for seed in seeds]
    rollout = SalesRollout(
        [], customer=customer, scorer=scorer, env_kwargs=env_kwargs, tokenizer=tokenizer
    )
    episodes = play_episodes(
        specs,
        generate,
        tokenizer,
        envs=rollout._envs(specs),
        max_turn_tokens=max_turn_tokens,
        episode_token_budget=episode_token_budget,
    )
    return [float(e.score) for e in episodes]


# --- environment_factory alternative ------------------------------------------------------


class SalesToolEnvironment:
    """An `environment_factory` environment for TRL: the salesperson speaks via a tool.

    For models whose chat template supports tool calling (TRL checks it): TRL calls
    `reset(**row)` before each rollout, offers `say` as a tool, runs the tool-calling loop
    (each call's result, the customer's reply, is masked out of the loss) and scores the
    rollout with `get_reward()`. Use with `episode_rows`' dataset:

        GRPOTrainer(model, train_dataset=build_dataset("SalesLLM-en-easy", 256),
                    environment_factory=SalesToolEnvironment, args=GRPOConfig(...))

    Unlike `SalesRollout`, the prompt seen by the model is TRL's (system prompt, opening,
    tool schema) and the turn limits are TRL's (`max_completion_length`,
    `max_tool_calling_iterations`); an episode that ends without a decision gets the score
    the env gives a conversation cut off there: nothing (0) until the customer decides.

    Args:
        customer: The customer backend (default: the persona simulator).
        scorer: The episode scorer (default: the env's).
        env_kwargs: Extra `salesenv.make` arguments.
    """

    def __init__(
        self, customer: Any = None, scorer: Any = None, env_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        self.customer = customer
        self.scorer = scorer
        self.env_kwargs = dict(env_kwargs or {})
        self._envs: dict[str, SalesEnv] = {}
        self.env: SalesEnv | None = None
        self.reward = 0.0
        self.done = False

    def reset(self, env_id: str, seed: int, **row: Any) -> None:
        """Starts the episode of a dataset row (its `env_id` and `seed`); the prompt
        already holds the customer's opening, so nothing is appended to it."""
        if env_id not in self._envs:
            kwargs = dict(self.env_kwargs)
            if self.customer is not None:
                kwargs["customer"] = self.customer
            if self.scorer is not None:
                kwargs["scorer"] = self.scorer
            self._envs[env_id] = salesenv.make(env_id, **kwargs).unwrapped
        self.env = self._envs[env_id]
        self.env.reset(seed=int(seed))
        self.reward = 0.0
        self.done = False

    def say(self, message: str) -> str:
        """Say something to the customer and hear the answer.

        Args:
            message: Your next words to the customer, as the salesperson.

        Returns:
            The customer's reply.
        """
        if self.env is None or self.done:
            return "(The conversation is over.)"
        observation, reward, terminated, truncated, _ = self.env.step(message)
        self.reward += float(reward)
        self.done = terminated or truncated
        return observation

    def get_reward(self) -> float:
        """The episode's return so far (the final score once the customer has decided)."""
        return self.reward
