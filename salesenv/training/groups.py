"""GRPO groups across processes: every member of a group must play the same scenario.

GRPO compares the rewards of the `num_generations` completions of one prompt (a group);
that only means something if they all played the same scenario with the same seed. With
several processes, TRL 1.16 can split one group over processes: its `RepeatSampler` emits
each prompt G times in a row (same seed, hence the same order, on every process) and
accelerate deals that stream out in per-process slices of `per_device_train_batch_size *
steps_per_generation`, so with per-device batch 3 and G = 2 process 0 gets prompts
(0, 0, 1) and process 1 gets (1, 2, 2). Each process plays its own slice, and
`GRPOTrainer._calculate_rewards` then gathers the reward tensor across processes (process
order, equal slices) and `_generate_and_score_completions` groups it with
`rewards.view(-1, G)` for the group mean and std.

Where the check hooks in: the reward function. The rollout function sees only its own
process's slice and not how TRL will group it; the reward function is called on every
process with the same rows, in the same order, as the reward tensor that TRL gathers right
after it. `GroupCheck` wraps the reward function, gathers each completion's (env id, seed,
scenario id) over the trainer's processes in process order (accelerate's `gather_object`,
the collective TRL itself uses on the same process group) and checks every run of G
consecutive rows, i.e. exactly the rows that the advantage computation will compare. Every
process sees the same gathered list, so a mismatch raises on all of them (no process is
left waiting in a collective). `TaggedRollout` adds what each completion played to the
rollout's output, so the reward function receives it.

`check_group_batch` is the configuration side: TRL needs whole groups in every generation
batch, and says so only after the model is loaded; it fails before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from math import gcd
from typing import Any, NamedTuple

from salesenv.training.rollouts import Messages, SalesRollout, prompt_key

logger = logging.getLogger(__name__)

#: The extra rollout fields that `TaggedRollout` adds and `GroupCheck` reads.
PLAYED_FIELDS = ("played_env_id", "played_seed", "played_scenario")


class Played(NamedTuple):
    """What one completion played: the env id, the reset seed and the scenario's id."""

    env_id: str
    seed: int
    scenario: str

    def __str__(self) -> str:
        return f"{self.env_id} seed {self.seed} scenario {self.scenario}"


class GroupSizeError(ValueError):
    """The group size does not divide the batch TRL generates per optimiser step."""


class GroupMismatchError(RuntimeError):
    """The members of a GRPO group played different scenarios."""


def check_group_batch(
    num_generations: int,
    per_device_train_batch_size: int,
    num_processes: int = 1,
    gradient_accumulation_steps: int = 1,
) -> None:
    """Fails early unless every generation batch holds whole groups (TRL 1.16's rule).

    TRL generates `per_device_train_batch_size * num_processes * steps_per_generation`
    completions at a time (`steps_per_generation` defaults to
    `gradient_accumulation_steps`) and groups them by `num_generations`; `GRPOConfig`
    rejects a group size that does not divide that batch, or one below 2.

    Args:
        num_generations: `train.num_generations` (G).
        per_device_train_batch_size: `train.per_device_train_batch_size`.
        num_processes: Training processes (`accelerate launch --num_processes`).
        gradient_accumulation_steps: `train.gradient_accumulation_steps`.

    Raises:
        GroupSizeError: If G < 2, a size is < 1, or G does not divide the batch; the
            message says which `train.*` values to change and to what.
    """
    sizes = {
        "train.per_device_train_batch_size": per_device_train_batch_size,
        "train.gradient_accumulation_steps": gradient_accumulation_steps,
        "number of processes": num_processes,
    }
    for name, value in sizes.items():
        if value < 1:
            raise GroupSizeError(f"{name} must be >= 1, got {value}")
    if num_generations < 2:
        raise GroupSizeError(
            f"train.num_generations must be >= 2 (GRPO compares the completions of a "
            f"group), got {num_generations}"
        )
    others = num_processes * gradient_accumulation_steps
    batch = per_device_train_batch_size * others
    if batch % num_generations == 0:
        return
    step = num_generations // gcd(num_generations, others)
    fixed_per_device = -(-per_device_train_batch_size // step) * step
    divisors = [g for g in range(2, batch + 1) if batch % g == 0]
    raise GroupSizeError(
        f"train.num_generations ({num_generations}) must divide the completions generated "
        f"per step, train.per_device_train_batch_size ({per_device_train_batch_size}) x "
        f"{num_processes} process(es) x train.gradient_accumulation_steps "
        f"({gradient_accumulation_steps}) = {batch}, so that every GRPO group is whole: set "
        f"train.per_device_train_batch_size to a multiple of {step} (e.g. {fixed_per_device})"
        + (
            f" or train.num_generations to one of {divisors}"
            if divisors
            else " (no group size >= 2 divides this batch)"
        )
    )


def check_groups(
    played: Sequence[Played | Sequence[Any]],
    num_generations: int,
    rows_per_process: Sequence[int] | None = None,
) -> int:
    """Checks that each run of `num_generations` consecutive completions played one scenario.

    Args:
        played: What each completion of the gathered batch played, in TRL's order
            (process 0's rows, then process 1's, ...).
        num_generations: The group size G.
        rows_per_process: How many rows each process contributed (for the error message).

    Returns:
        The number of groups checked.

    Raises:
        GroupMismatchError: If the batch is not whole groups, or a group's members played
            different (env id, seed, scenario); the message lists each member's row,
            process and scenario.
    """
    played = [Played(*p) for p in played]
    if len(played) % num_generations:
        raise GroupMismatchError(
            f"the gathered batch has {len(played)} completions, not whole groups of "
            f"train.num_generations={num_generations}"
        )
    owners = _owners(rows_per_process, len(played))
    for start in range(0, len(played), num_generations):
        members = played[start : start + num_generations]
        if len(set(members)) > 1:
            lines = "\n".join(
                f"  row {start + i} (process {owners[start + i]}): {member}"
                for i, member in enumerate(members)
            )
            raise GroupMismatchError(
                f"GRPO group {start // num_generations} (rows {start}-{start + num_generations - 1}"
                f" of the gathered batch) mixes scenarios, so its advantages would compare "
                f"different conversations:\n{lines}\nEvery process must get the same prompt "
                "order (same train.seed and dataset on every process) and the rollout must map "
                "each prompt to one (env id, seed)"
            )
    return len(played) // num_generations


def _owners(rows_per_process: Sequence[int] | None, total: int) -> list[int]:
    """The process index of each gathered row (all 0 when unknown)."""
    if not rows_per_process or sum(rows_per_process) != total:
        return [0] * total
    return [rank for rank, rows in enumerate(rows_per_process) for _ in range(rows)]


class TaggedRollout:
    """A `SalesRollout` whose output also says what each completion played.

    Adds `played_env_id`, `played_seed` and `played_scenario` (the id of the scenario the
    env was reset to) to the rollout's output; TRL hands them to the reward functions,
    where `GroupCheck` reads them.

    Args:
        rollout: The rollout function given to `GRPOTrainer(rollout_func=...)`.
    """

    def __init__(self, rollout: SalesRollout) -> None:
        self.rollout = rollout

    def __call__(self, prompts: Sequence[Messages], trainer: Any = None) -> dict[str, list]:
        """Plays the prompts (see `SalesRollout.__call__`) and tags each completion."""
        output = self.rollout(prompts, trainer)
        specs = [self.rollout.episodes[prompt_key(prompt)] for prompt in prompts]
        # EnvPool hands the same specs the same envs, which still hold the played scenario.
        envs = self.rollout.pool.envs(specs)
        output["played_env_id"] = [env_id for env_id, _ in specs]
        output["played_seed"] = [seed for _, seed in specs]
        output["played_scenario"] = [env.scenario.id if env.scenario else "" for env in envs]
        return output


class GroupCheck:
    """A reward function wrapper that checks GRPO groups on TRL's gathered batch.

    Call `attach(trainer)` once the `GRPOTrainer` exists: the check then gathers over the
    trainer's accelerator and uses the trainer's group size. Each call gathers the
    `played_*` fields of every process's rows (in process order, as TRL gathers the
    rewards), runs `check_groups`, logs one line per process and step, records the step in
    `steps`, and returns the wrapped function's rewards. The metric name stays the wrapped
    function's (`rewards/env_reward/mean`).

    Args:
        reward_func: The reward function to wrap (e.g. `env_reward`).
        num_generations: The group size, until `attach` reads the trainer's.

    Attributes:
        rank: This process's index (0 until attached).
        processes: The number of processes (1 until attached).
        gather: Maps this process's list of `Played` to every process's list, in process
            order; None in a single process.
        steps: The optimiser steps checked so far (1-based), one per generation batch.
    """

    def __init__(self, reward_func: Callable[..., list[float]], num_generations: int) -> None:
        self.reward_func = reward_func
        self.num_generations = num_generations
        self.__name__ = getattr(reward_func, "__name__", type(reward_func).__name__)
        self.rank = 0
        self.processes = 1
        self.gather: Callable[[list[Played]], list[list[Played]]] | None = None
        self.steps: list[int] = []

    def attach(self, trainer: Any) -> GroupCheck:
        """Uses `trainer`'s group size and gathers over its accelerator; returns self."""
        accelerator = trainer.accelerator
        self.num_generations = trainer.num_generations
        self.rank, self.processes = accelerator.process_index, accelerator.num_processes
        if self.processes > 1:
            from accelerate.utils import gather_object

            self.gather = lambda local: gather_object([local])
        return self

    def __call__(self, completions: list, **kwargs: Any) -> list[float]:
        """Checks the gathered groups, then returns `reward_func(completions, **kwargs)`.

        Raises:
            ValueError: If the rollout did not add the `played_*` fields (use
                `TaggedRollout`).
            GroupMismatchError: See `check_groups`.
        """
        missing = [name for name in PLAYED_FIELDS if kwargs.get(name) is None]
        if missing:
            raise ValueError(
                f"GroupCheck needs the rollout fields {missing}: pass "
                "rollout_func=TaggedRollout(SalesRollout(...))"
            )
        columns = (kwargs[name] for name in PLAYED_FIELDS)
        local = [Played(*row) for row in zip(*columns, strict=True)]
        per_process = self.gather(local) if self.gather is not None else [local]
        gathered = [Played(*p) for rows in per_process for p in rows]
        groups = check_groups(gathered, self.num_generations, [len(r) for r in per_process])
        state = kwargs.get("trainer_state")
        step = state.global_step + 1 if state is not None else len(self.steps) + 1
        self.steps.append(step)
        logger.info(
            "group check: step %d, process %d of %d: %d groups of %d completions, "
            "each group one scenario",
            step,
            self.rank,
            self.processes,
            groups,
            self.num_generations,
        )
        return self.reward_func(completions, **kwargs)
