"""Multi-turn GRPO rollouts: salesenv episodes played by a token-level policy for TRL.

One GRPO completion is one whole sales conversation. The prompt is the salesperson's
system prompt and the customer's opening line; the completion is every salesperson turn
the policy wrote (`env_mask` 1, trained) interleaved with the customer's replies as the
chat template renders them (`env_mask` 0, context only). The reward is the env's episode
return: the final score, plus the potential-based shaping when the env has it.

TRL's contract (trl 1.16, `GRPOTrainer._generate`): `rollout_func(prompts, trainer)` gets
the prompts of this process's batch, already repeated `num_generations` times by TRL's
`RepeatSampler` (G consecutive copies), and returns a dict with `prompt_ids`,
`completion_ids` and `logprobs` (one list per prompt; logprobs may be None), optionally
`env_mask` (1 on model tokens, 0 on environment tokens; used as the loss mask); every other
key is copied into the batch's rows and reaches the reward functions as a keyword argument.
The rollout function does not see the dataset's other columns, so each prompt is mapped
back to its (env id, seed) through the rows it was built from (`salesenv.training.
episode_rows` keeps only seeds whose prompt is unique). All G copies of a prompt replay the
same seed, so they meet the same scenario and the same customer, and the group baseline
compares like with like.

Chat templates and thinking (Qwen3). The prompt is the template's rendering of the
opening with the generation prompt (`chat_template_kwargs`, e.g. `{"enable_thinking":
False}`, reach every rendering). After that the sequence is built by appending, never
re-rendered: each salesperson turn's sampled tokens as they came out (env_mask 1), then the
customer's reply wrapped in the text pieces `ChatBridge` reads off the template (env_mask
0), which end with the next generation prompt. So the training sequence is exactly what
the policy saw and generated at every turn: turn k was sampled with prompt + completion up
to it as its context, earlier turns' think blocks included. Templates that rewrite history
differ from it: Qwen3's drops the reasoning of assistant turns before the last user
message, renders the turn after it with a think block (an empty one when it had no
reasoning), and with `enable_thinking=False` ends each generation prompt with an empty
think block. Rendering the final conversation (`messages`, whose salesperson turns are the
env's actions, with the reasoning stripped) therefore gives the rollout's text with its
think blocks removed: the two are equal once every `<think>...</think>` block and the blank
line after it is removed from both (a turn cut off by its token limit while thinking said
nothing; its partial reasoning stays in the sequence). For ChatML templates such as
SmolLM2's the two are identical. This is the right sequence for GRPO: the policy-gradient
loss and the importance ratio are computed on the tokens that were sampled, in the
context they were sampled in; re-rendering would drop the reasoning tokens of earlier
turns from the loss and score later turns in a context the policy never saw. The env
strips the reasoning from each turn (`salesenv.customers.thinking.strip_thinking`), so the
customer, the judge and the transcript see only what was said; reasoning tokens count
towards the per-turn limit and the episode budget like any other generated token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import salesenv
from salesenv.customers.base import CustomerReply, CustomerRequest
from salesenv.env import SalesEnv, StepResult
from salesenv.training.policies import (
    GenerateFn,
    check_chat_template,
    process_sync,
    tokenizer_name,
    trainer_generate,
)

#: Messages of a prompt as OpenAI-style dicts (role, content).
Messages = list[dict[str, str]]
#: Steps envs with their actions (`step_local`): (envs, actions, last-turn flags) -> one
#: Gymnasium step result per env, in order.
StepMany = Callable[[Sequence[Any], Sequence[str], Sequence[bool]], list[StepResult]]

_MARK_A = "\x00salesenv-assistant\x00"
_MARK_B = "\x00salesenv-user\x00"

#: Where the message of a template error points the user.
_TEMPLATE_ADVICE = (
    "set train.policy_model to a chat model whose template keeps earlier messages as they "
    "were, give the tokenizer such a template (tokenizer.chat_template = ...), or change "
    "train.chat_template_kwargs"
)


def prompt_key(messages: Sequence[Mapping[str, Any]]) -> str:
    """A string that identifies a chat prompt by its roles and contents only."""
    return json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)


class EnvPool:
    """Unwrapped envs by env id, built on first use with shared parts and then reused.

    Args:
        customer: The customer backend shared by every env (default: each env's own).
        scorer: The episode scorer (default: each env's own).
        env_kwargs: Extra `salesenv.make` arguments (max_rounds, ...).
        shaping: Optional `PotentialShaping` given to every env.
    """

    def __init__(
        self,
        customer: Any = None,
        scorer: Any = None,
        env_kwargs: Mapping[str, Any] | None = None,
        shaping: Any = None,
    ) -> None:
        self.kwargs = dict(env_kwargs or {}, shaping=shaping)
        if customer is not None:
            self.kwargs["customer"] = customer
        if scorer is not None:
            self.kwargs["scorer"] = scorer
        self._pool: dict[str, list[SalesEnv]] = {}

    def envs(self, specs: Sequence[tuple[str, int]]) -> list[SalesEnv]:
        """One env per (env id, seed) spec, distinct within the call, reused across calls."""
        needed: dict[str, int] = {}
        envs = []
        for env_id, _ in specs:
            pool = self._pool.setdefault(env_id, [])
            index = needed.get(env_id, 0)
            needed[env_id] = index + 1
            if index == len(pool):
                pool.append(salesenv.make(env_id, **self.kwargs).unwrapped)
            envs.append(pool[index])
        return envs

    def __iter__(self) -> Iterator[SalesEnv]:
        """Every env built so far."""
        return (env for pool in self._pool.values() for env in pool)


@dataclass(frozen=True)
class ChatBridge:
    """How a chat template joins turns, as text pieces around each customer reply.

    After a salesperson turn the template writes `close` (for ChatML: "<|im_end|>\\n"); a
    customer reply becomes `user_prefix + reply + user_suffix`, where the suffix ends
    with the generation prompt of the next salesperson turn. Learned once per tokenizer by
    rendering a conversation with marker strings: the pieces after the salesperson turn
    are read from the rendering where a customer message follows it, which is where the
    rollout needs them, so templates that render the last assistant turn differently from
    earlier ones (Qwen3's think blocks) work too.
    """

    close: str
    user_prefix: str
    user_suffix: str
    eos_text: str

    @classmethod
    def from_tokenizer(
        cls, tokenizer: Any, chat_template_kwargs: Mapping[str, Any] | None = None
    ) -> ChatBridge:
        """Reads the pieces off `tokenizer.apply_chat_template`.

        Args:
            tokenizer: The policy's tokenizer.
            chat_template_kwargs: Variables for the template (`{"enable_thinking": False}`).

        Raises:
            ValueError: If the tokenizer has no chat template, the template fails on a
                system + user + assistant + user conversation, does not render message
                contents verbatim, or renders the opening (system prompt and first user
                message) differently once more turns follow: multi-turn rollouts append
                turns to the rendered opening, so they cannot use such a template.
        """
        check_chat_template(tokenizer)
        kwargs = dict(chat_template_kwargs or {})

        def render(messages: Messages, generation_prompt: bool = False) -> str:
            try:
                return tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=generation_prompt, **kwargs
                )
            except Exception as error:
                raise ValueError(
                    f"the chat template of the policy {tokenizer_name(tokenizer)} fails on a "
                    f"system + user + assistant + user conversation with chat_template_kwargs="
                    f"{kwargs} ({type(error).__name__}: {error}): {_TEMPLATE_ADVICE}"
                ) from error

        head = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
        with_turn = [*head, {"role": "assistant", "content": _MARK_A}]
        opening = render(head)
        last = render(with_turn)
        followed = render([*with_turn, {"role": "user", "content": _MARK_B}], True)
        after = followed.split(_MARK_A)
        if len(after) != 2 or after[1].count(_MARK_B) != 1:
            raise ValueError(
                f"the chat template of the policy {tokenizer_name(tokenizer)} does not render "
                f"message contents verbatim (with chat_template_kwargs={kwargs}), so the "
                f"customer's replies cannot be spliced into the rollout: {_TEMPLATE_ADVICE}"
            )
        if not after[0].startswith(opening):
            raise ValueError(
                f"the chat template of the policy {tokenizer_name(tokenizer)} renders the "
                "system prompt and the first user message differently once more turns "
                "follow (it rewrites the opening, e.g. moves the system prompt to the last "
                "user message), so multi-turn rollouts, which append turns to the rendered "
                f"opening, cannot use it: {_TEMPLATE_ADVICE}"
            )
        between, suffix = after[1].split(_MARK_B)
        eos = tokenizer.eos_token or ""
        close = last.split(_MARK_A)[-1] if _MARK_A in last else ""
        if not close or not between.startswith(close):
            # The template ends a last turn unlike a turn that a user message follows; only
            # the end-of-turn token needs to be known as such (`customer_text`).
            close = eos if eos and between.startswith(eos) else ""
        return cls(close, between[len(close) :], suffix, eos)

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
    `episode_token_budget` tokens together; the turn that exhausts the budget is stepped
    with `last_turn=True`, so the customer gives its final decision and the episode ends
    with the env's own score. The final customer reply is not appended (no turn follows
    it).

    Args:
        rows: The dataset rows (`salesenv.training.episode_rows`, or a `datasets.Dataset`
            with columns prompt, env_id and seed): each prompt's episode.
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
        chat_template_kwargs: Variables for the policy's chat template, e.g.
            `{"enable_thinking": False}` to turn a Qwen3 policy's thinking off; None: the
            trainer's `GRPOConfig.chat_template_kwargs` (none without a trainer).
        pool: Where the envs come from: anything with `envs(specs)` returning one env
            per (env id, seed), e.g. `salesenv.training.remote.RemoteEnvPool` for
            sessions on a salesenv server (customer, scorer, env_kwargs and shaping are
            then the server's business and must be left unset). Default: an `EnvPool` of
            in-process envs.
        step_many: How the envs are stepped (see `play_episodes`); give
            `salesenv.training.remote.step_remote` with a remote pool.

    Raises:
        ValueError: If a budget is < 1, or `tokenizer`'s chat template cannot render
            multi-turn rollouts (see `ChatBridge.from_tokenizer`).

    Returns (from `__call__`): `prompt_ids`, `completion_ids`, `logprobs`, `env_mask`, and
    for the reward functions `env_reward` (the return), `env_score` (the final score) and
    `env_turns` (salesperson turns played).
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
        chat_template_kwargs: Mapping[str, Any] | None = None,
        pool: Any = None,
        step_many: StepMany | None = None,
    ) -> None:
        if max_turn_tokens < 1 or episode_token_budget < 1:
            raise ValueError("max_turn_tokens and episode_token_budget must be >= 1")
        if pool is not None and any(x is not None for x in (customer, scorer, env_kwargs, shaping)):
            raise ValueError(
                "customer, scorer, env_kwargs and shaping configure in-process envs; with a "
                "pool of envs (a server's sessions) they belong to the server: leave them unset"
            )
        if tokenizer is not None:
            ChatBridge.from_tokenizer(tokenizer, chat_template_kwargs)  # fail before training
        self.episodes = {prompt_key(r["prompt"]): (r["env_id"], int(r["seed"])) for r in rows}
        self.pool = pool if pool is not None else EnvPool(customer, scorer, env_kwargs, shaping)
        self.step_many = step_many
        self.max_turn_tokens = max_turn_tokens
        self.episode_token_budget = episode_token_budget
        self.generate = generate
        self.tokenizer = tokenizer
        self.chat_template_kwargs = chat_template_kwargs

    def __call__(self, prompts: Sequence[Messages], trainer: Any = None) -> dict[str, list]:
        """Plays one episode per prompt (TRL's `rollout_func(prompts, trainer)`).

        Raises:
            KeyError: If a prompt is not one of the rows' prompts.
        """
        tokenizer = self.tokenizer or trainer.processing_class
        generate = self.generate or trainer_generate(trainer, tokenizer)
        template_kwargs = self.chat_template_kwargs
        if template_kwargs is None:
            template_kwargs = getattr(trainer, "chat_template_kwargs", None)
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
            envs=self.pool.envs(specs),
            max_turn_tokens=self.max_turn_tokens,
            episode_token_budget=self.episode_token_budget,
            sync=process_sync(trainer),
            chat_template_kwargs=template_kwargs,
            step_many=self.step_many,
        )
        no_logprobs = any(len(e.logprobs) != len(e.completion_ids) for e in episodes)
        return {
            "prompt_ids": [e.prompt_ids for e in episodes],
            "completion_ids": [e.completion_ids for e in episodes],
            "logprobs": None if no_logprobs else [e.logprobs for e in episodes],
            "env_mask": [e.env_mask for e in episodes],
            "env_reward": [e.reward for e in episodes],
            "env_score": [e.score for e in episodes],
            "env_turns": [e.turns for e in episodes],
        }


def play_episodes(
    specs: Sequence[tuple[str, int]],
    generate: GenerateFn,
    tokenizer: Any,
    *,
    envs: Sequence[SalesEnv],
    max_turn_tokens: int,
    episode_token_budget: int,
    sync: Callable[[bool], bool] | None = None,
    chat_template_kwargs: Mapping[str, Any] | None = None,
    step_many: StepMany | None = None,
) -> list[Episode]:
    """Plays the episodes `specs` (env id, seed) to the end with a token-level policy.

    Args:
        specs: (env id, seed) per episode.
        generate: The policy (see `GenerateFn`); it gets one prompt per running episode.
        tokenizer: Renders the chat and tokenizes customer replies.
        envs: Unwrapped envs, one per episode (reset here with the episode's seed), e.g.
            `EnvPool.envs(specs)`.
        max_turn_tokens: Token limit of one salesperson turn.
        episode_token_budget: Token limit of an episode's salesperson turns.
        sync: For multi-process generation that needs every process in every call:
            maps "this process has running episodes" to "any process has"; the loop then
            calls `generate` (possibly with no prompts) until no process has one.
        chat_template_kwargs: Variables for the chat template (`{"enable_thinking": False}`),
            used for the prompt and for the pieces around each customer reply.
        step_many: Steps every running env with its action in one go (default
            `step_local`: in-process envs, one batched customer call per backend; envs on a
            salesenv server use `salesenv.training.remote.step_remote`).

    Returns:
        The finished episodes, in the order of `specs`.

    Raises:
        ValueError: If the tokenizer's chat template cannot render multi-turn rollouts
            (see `ChatBridge.from_tokenizer`).
    """
    bridge = ChatBridge.from_tokenizer(tokenizer, chat_template_kwargs)
    template_kwargs = dict(chat_template_kwargs or {})
    episodes = [
        _start(env, seed, tokenizer, episode_token_budget, template_kwargs)
        for (_, seed), env in zip(specs, envs, strict=True)
    ]
    while True:
        running = [e for e in episodes if not e.done]
        if not (sync(bool(running)) if sync is not None else running):
            break
        limit = max([min(max_turn_tokens, e.budget_left) for e in running], default=1)
        ids, logprobs = generate([e.prompt_ids + e.completion_ids for e in running], limit)
        turns = [
            _salesperson_turn(episode, turn_ids, turn_logprobs, max_turn_tokens, tokenizer)
            for episode, turn_ids, turn_logprobs in zip(
                running, ids, logprobs or [None] * len(running), strict=True
            )
        ]
        steps = (step_many or step_local)(
            [e.env for e in running], [action for action, _ in turns], [last for _, last in turns]
        )
        for episode, step in zip(running, steps, strict=True):
            _customer_turn(episode, step, bridge, tokenizer)
    return episodes


def step_local(
    envs: Sequence[SalesEnv], actions: Sequence[str], last_turns: Sequence[bool]
) -> list[StepResult]:
    """Steps in-process envs: each says its action (`begin_step`), the customers answer in
    one batched `respond` call per distinct backend, each env takes its reply
    (`finish_step`). The default `StepMany` of `play_episodes`."""
    requests = [
        env.begin_step(action, last_turn=last)
        for env, action, last in zip(envs, actions, last_turns, strict=True)
    ]
    return [
        env.finish_step(reply) for env, reply in zip(envs, _respond(envs, requests), strict=True)
    ]


def _start(
    env: SalesEnv, seed: int, tokenizer: Any, budget: int, template_kwargs: Mapping[str, Any]
) -> Episode:
    """Resets `env` with `seed` and tokenizes its prompt."""
    _, info = env.reset(seed=seed)
    text = tokenizer.apply_chat_template(
        info["messages"], tokenize=False, add_generation_prompt=True, **template_kwargs
    )
    prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return Episode(env, prompt_ids, [], [], [], budget)


def _salesperson_turn(
    episode: Episode,
    turn_ids: Sequence[int],
    turn_logprobs: Sequence[float] | None,
    max_turn_tokens: int,
    tokenizer: Any,
) -> tuple[str, bool]:
    """Appends a generated turn to the episode; returns what it says and whether it is the
    episode's last turn."""
    turn_ids = list(turn_ids)[: min(max_turn_tokens, episode.budget_left)]
    if turn_logprobs is not None and len(episode.logprobs) == len(episode.completion_ids):
        episode.logprobs += [float(x) for x in list(turn_logprobs)[: len(turn_ids)]]
    episode.completion_ids += turn_ids
    episode.env_mask += [1] * len(turn_ids)
    episode.budget_left -= len(turn_ids)
    episode.turn_ended = bool(turn_ids) and turn_ids[-1] == tokenizer.eos_token_id
    # Any reasoning (<think>...</think>) stays in the tokens; the env strips it from what
    # the customer hears.
    action = tokenizer.decode(turn_ids, skip_special_tokens=True).strip()
    # A spent budget makes this the last turn: the customer decides and the env scores.
    return action, episode.budget_left <= 0


def _customer_turn(episode: Episode, step: StepResult, bridge: ChatBridge, tokenizer: Any) -> None:
    """Adds the env's step to the episode: its reward, and the reply's tokens unless it ended."""
    observation, reward, terminated, truncated, info = step
    episode.reward += float(reward)
    episode.turns += 1
    if terminated or truncated:
        episode.done = True
        episode.score = float(info["score"]["final"])
        episode.messages = info["messages"]
        return
    reply_ids = tokenizer(
        bridge.customer_text(observation, episode.turn_ended), add_special_tokens=False
    )["input_ids"]
    if len(episode.logprobs) == len(episode.completion_ids):
        episode.logprobs += [0.0] * len(reply_ids)
    episode.completion_ids += reply_ids
    episode.env_mask += [0] * len(reply_ids)


def _respond(envs: Sequence[SalesEnv], requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
    """The customers' replies: one batched `respond` call per distinct backend."""
    replies: list[Any] = [None] * len(requests)
    groups: dict[int, list[int]] = {}
    for i, env in enumerate(envs):
        groups.setdefault(id(env.customer), []).append(i)
    for indices in groups.values():
        customer = envs[indices[0]].customer
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
