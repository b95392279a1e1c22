"""What an evaluation plays, and playing it many at a time in a vector env.

`select_suite` and `select_envs` say what to play: per env id, the scenarios (or None when
seeds sample them) and the episode count. `salesenv.evaluation.evaluate` plans the episodes
(`plan_episodes`), skips those already in its output folder, and hands the rest to
`run_planned`, which keeps `num_envs` conversations running in a `SalesVectorEnv`: every
step asks the customer backend for all replies in one batched call, an LLM agent
(`BatchSalesAgent`) writes all salesperson turns in one call, and a conversation that ends
is refilled with the next planned episode at once.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from salesenv.agents.base import BatchSalesAgent, SalesAgent
from salesenv.customers.base import CustomerBackendError
from salesenv.ids import MIXED, EnvId, parse_difficulty
from salesenv.protocol import protocol_of
from salesenv.results import episode_key
from salesenv.scenarios.scenario import LANGUAGES
from salesenv.vector import SalesVectorEnv

#: End-of-episode info that the env variants add (portfolio: products pitched and bought,
#: the portfolio's fit; long-horizon: the session reached); copied into the record.
VARIANT_INFO_KEYS = ("pitched", "bought", "portfolio", "session")
#: Give up when this many episodes in a row failed and none has succeeded yet: the backend
#: is down or misconfigured, and every further episode would fail the same way.
FAILURES_BEFORE_ABORT = 8


class EvalAbortedError(RuntimeError):
    """Every episode so far failed the same way; nothing written is lost, rerun to resume."""


class SelectionError(ValueError):
    """What to play cannot be worked out (an empty selection, a contradictory variant)."""


@dataclass(frozen=True)
class EpisodeGroup:
    """The episodes of one env id, played by every agent.

    Attributes:
        env_id: The short env id, variant included.
        scenarios: The scenarios episode i plays (the i-th), or None when seeds sample them.
        count: Episodes per agent (and trial).
    """

    env_id: str
    scenarios: Sequence[Any] | None
    count: int


@dataclass(frozen=True)
class Selection:
    """What an evaluation plays.

    Attributes:
        suite: The suite's name (or the env ids, when scenarios are sampled).
        suite_hash: The suite's content hash (None when scenarios are sampled).
        groups: One group per env id.
    """

    suite: str
    suite_hash: str | None
    groups: list[EpisodeGroup]


def apply_variant(env_id: str, variant: str) -> str:
    """`env_id` in the config's variant: "SalesLLM-en-hard" with "longhorizon" gives
    "SalesLLM-en-hard-longhorizon". The plain variant ("") leaves the id as it is.

    Raises:
        SelectionError: If the id already names another variant.
        salesenv.ids.UnknownIdError: If `env_id` is not an env id.
    """
    parsed = EnvId.parse(env_id)
    if not variant or parsed.variant == variant:
        return parsed.short
    if parsed.variant:
        raise SelectionError(
            f"{env_id} is the {parsed.variant} variant but the config asks for env={variant}: "
            f"drop env={variant}, or name {parsed.with_variant(variant).short}"
        )
    return parsed.with_variant(variant).short


def select_envs(env_ids: Sequence[str], *, episodes: int, variant: str = "") -> Selection:
    """`episodes` seed-sampled scenarios on each env id, in the config's variant.

    Raises:
        SelectionError: If an id names a variant other than `variant`, or `episodes` < 1.
    """
    if episodes < 1:
        raise SelectionError(f"episodes must be at least 1, got {episodes}")
    ids = [apply_variant(env_id, variant) for env_id in env_ids]
    return Selection(", ".join(ids), None, [EpisodeGroup(i, None, episodes) for i in ids])


def select_suite(
    suite: Any,
    *,
    variant: str = "",
    language: str | None = None,
    difficulty: str | None = None,
    limit: int | None = None,
) -> Selection:
    """A suite's scenarios, per language, on the mixed env of that language and variant.

    Args:
        suite: A `salesenv.scenarios.suites.Suite`.
        variant: The env variant ("" for plain).
        language: Keep one language.
        difficulty: Keep one difficulty (any spelling; "mixed" keeps all).
        limit: Keep the first `limit` scenarios of each language.

    Raises:
        SelectionError: If no scenario is left.
    """
    if difficulty is not None:
        difficulty = parse_difficulty(difficulty)
    kept = suite.filter(language=language, difficulty=None if difficulty == MIXED else difficulty)
    groups = []
    for lang in LANGUAGES:
        scenarios = kept.filter(language=lang).scenarios[:limit]
        if scenarios:
            env_id = EnvId(lang, MIXED, variant).short
            groups.append(EpisodeGroup(env_id, scenarios, len(scenarios)))
    if not groups:
        raise SelectionError(f"suite {suite.name!r} has no scenario with these filters")
    return Selection(kept.name, kept.content_hash, groups)


@dataclass(frozen=True)
class PlannedEpisode:
    """One episode to play: which agent, env id, scenario (index into the env's list, or a
    seed-sampled scenario when the env has no list) and trial.

    Attributes:
        key: Identity in the results (`results.episode_key`).
        agent: The agent's name.
        env_id: The short env id whose env plays it.
        index: The scenario's position in the env's scenario list, or the episode number
            when scenarios are sampled.
        trial: Repetition number (0 for the first play of a scenario).
        seed: The episode's seed.
        from_list: Whether `index` points into a scenario list (else the seed samples one).
    """

    key: str
    agent: str
    env_id: str
    index: int
    trial: int
    seed: int
    from_list: bool


def plan_episodes(
    agent: str, env_id: str, count: int, trials: int, seed: int, from_list: bool
) -> list[PlannedEpisode]:
    """Episodes 0..count-1 of one agent on one env, each played `trials` times.

    Episode i of trial t gets seed `seed + i + t * count`: trial 0 matches a plain run of
    `examples/evaluate.py`, and no two planned episodes share a seed.
    """
    return [
        PlannedEpisode(
            key=episode_key(agent, env_id, i, t),
            agent=agent,
            env_id=env_id,
            index=i,
            trial=t,
            seed=seed + i + t * count,
            from_list=from_list,
        )
        for t in range(trials)
        for i in range(count)
    ]


@dataclass
class _Running:
    """A conversation in progress in one slot of the vector env."""

    plan: PlannedEpisode
    agent: Any
    start: dict[str, Any]
    observation: str
    info: dict[str, Any]
    difficulty: str
    flags: Counter
    started: float


def run_planned(
    envs: SalesVectorEnv,
    agent: SalesAgent | BatchSalesAgent,
    plans: Sequence[PlannedEpisode],
    on_records: Callable[[list[dict[str, Any]]], None],
    versions: dict[str, Any],
) -> None:
    """Plays `plans` (all of one env id) with `agent` and passes every finished episode's
    record to `on_records`, in batches as they end.

    Rule-based agents keep per-episode state, so each slot gets its own copy; batch agents
    answer every running conversation in one `act_batch` call. A backend failure after its
    retries (`CustomerBackendError`) records the episodes it hit as errored and the run goes
    on with the next ones.

    Raises:
        EvalAbortedError: If the first `FAILURES_BEFORE_ABORT` episodes (or all of them, when
            fewer are planned) failed.
    """
    batched = isinstance(agent, BatchSalesAgent)
    slots: list[_Running | None] = [None] * envs.num_envs
    queue = list(reversed(plans))
    succeeded = failed = 0
    while True:
        for i in range(envs.num_envs):
            if slots[i] is None and queue:
                slots[i] = _start(envs, i, queue.pop(), agent, batched)
        running = [i for i, slot in enumerate(slots) if slot is not None]
        if not running:
            return
        finished: list[dict[str, Any]] = []
        try:
            actions = _actions(agent, batched, [slots[i] for i in running])
            results = envs.step_at(dict(zip(running, actions, strict=True)))
        except CustomerBackendError as exc:
            for i in running:
                finished.append(_record(slots[i], None, False, False, versions, error=str(exc)))
                slots[i] = None
            failed += len(running)
            on_records(finished)
            if succeeded == 0 and failed >= min(FAILURES_BEFORE_ABORT, len(plans)):
                raise EvalAbortedError(
                    f"the first {failed} episodes all failed: {exc}\nThe errored episodes are "
                    "recorded and will be retried: fix the cause and rerun the same command."
                ) from exc
            continue
        for i, (observation, _, terminated, truncated, info) in results.items():
            slot = slots[i]
            slot.flags.update(info.get("customer_flags", {}))
            slot.flags["action_truncated"] += bool(info.get("action_truncated"))
            slot.flags["action_empty"] += bool(info.get("action_empty"))
            slot.flags["action_thinking_stripped"] += int(info.get("action_thinking_stripped", 0))
            slot.flags["action_copied"] += bool(info.get("action_copied"))
            slot.observation, slot.info = observation, info
            if terminated or truncated:
                finished.append(_record(slot, info, terminated, truncated, versions))
                slots[i] = None
        if finished:
            succeeded += len(finished)
            on_records(finished)


def _start(
    envs: SalesVectorEnv, slot: int, plan: PlannedEpisode, agent: Any, batched: bool
) -> _Running:
    options = {"scenario_index": plan.index} if plan.from_list else None
    observation, info = envs.reset_at(slot, seed=plan.seed, options=options)
    player = agent if batched else copy.deepcopy(agent)
    if not batched:
        player.reset(info, seed=plan.seed)
    difficulty = envs.envs[slot].scenario.difficulty
    return _Running(
        plan, player, info, observation, info, difficulty, Counter(), time.perf_counter()
    )


def _actions(agent: Any, batched: bool, running: list[_Running]) -> list[str]:
    if batched:
        return agent.act_batch(
            [r.observation for r in running],
            [r.info for r in running],
            [r.plan.seed for r in running],
        )
    return [r.agent.act(r.observation, r.info) for r in running]


def _record(
    slot: _Running,
    info: dict[str, Any] | None,
    terminated: bool,
    truncated: bool,
    versions: dict[str, Any],
    error: str | None = None,
) -> dict[str, Any]:
    """The JSON record of a finished (or failed) episode."""
    plan, start = slot.plan, slot.start
    last = info or slot.info
    score = last.get("score", {}) if error is None else {}
    return {
        "key": plan.key,
        "agent": plan.agent,
        "env_id": plan.env_id,
        "index": plan.index,
        "trial": plan.trial,
        "seed": plan.seed,
        "scenario_id": start["scenario_id"],
        "language": start["language"],
        "protocol": protocol_of(start),
        "difficulty": slot.difficulty,
        "category": (start.get("product") or {}).get("category"),
        "rounds": last.get("rounds_total", last["round"]),
        "terminated": terminated,
        "truncated": truncated,
        "decision": last.get("decision"),
        "score": score,
        "flags": {k: v for k, v in sorted(slot.flags.items()) if v},
        "variant_info": {k: last[k] for k in VARIANT_INFO_KEYS if k in last},
        "transcript": episode_transcript(last),
        "error": error,
        "seconds": round(time.perf_counter() - slot.started, 3),
        "versions": versions,
    }


def episode_transcript(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every turn of the episode so far as {"role", "text"} dicts, from a step's info.

    Variants with several sessions (long-horizon) give every turn in `info["transcript"]`;
    otherwise the turns are read from the salesperson-side messages.
    """
    return info.get("transcript") or [
        {"role": "customer" if m["role"] == "user" else "salesperson", "text": m["content"]}
        for m in info["messages"][1:]
    ]
