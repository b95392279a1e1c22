"""The env registry: `salesenv.make`, `salesenv.make_vec`, `salesenv.list_envs` and the
Gymnasium ids `salesenv/SalesLLM-{zh,en}-{difficulty}[-{variant}]-v0`."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from salesenv import catalog
from salesenv.ids import VARIANTS, EnvId, UnknownIdError, all_env_ids

#: Variant suffix -> entry point, from the catalog's `env` rows ("" is the plain env).
ENTRY_POINTS = {
    variant: ":".join(c.target.rsplit(".", 1))
    for variant, c in zip(VARIANTS, catalog.options("env"), strict=True)
}


class UnknownEnvError(gym.error.NameNotFound, UnknownIdError):
    """An env id that salesenv does not know; the message lists close matches."""


def register_envs() -> None:
    """Registers every salesenv id with Gymnasium (idempotent)."""
    for env_id in all_env_ids():
        if env_id.gym_id not in gym.registry:
            gym.register(
                id=env_id.gym_id,
                entry_point=ENTRY_POINTS[env_id.variant],
                kwargs={"language": env_id.language, "difficulty": env_id.difficulty},
                nondeterministic=False,
            )


def list_envs(variant: str | None = None) -> list[str]:
    """The short ids accepted by `salesenv.make` (e.g. "SalesLLM-zh-hard",
    "SalesLLM-en-easy-longhorizon", "SalesLLM-zh-mixed-portfolio").

    Args:
        variant: None lists every id; "" only the plain ones; "longhorizon" or "portfolio"
            only that variant's.

    Raises:
        ValueError: On an unknown variant.
    """
    if variant is None:
        return [env_id.short for env_id in all_env_ids()]
    if variant not in VARIANTS:
        raise ValueError(f"variant must be None or one of {list(VARIANTS)}, got {variant!r}")
    return [env_id.short for env_id in all_env_ids((variant,))]


def resolve_id(env_id: str) -> str:
    """Maps a short or full id to the registered Gymnasium id.

    Accepts "SalesLLM-zh-hard", "SalesLLM-zh-hard-v0" and "salesenv/SalesLLM-zh-hard-v0".

    Raises:
        UnknownEnvError: If the id is unknown; the message suggests close matches.
    """
    try:
        return EnvId.parse(env_id).gym_id
    except UnknownIdError as exc:
        raise UnknownEnvError(str(exc)) from None


def make(env_id: str, **overrides: Any) -> gym.Env:
    """Creates an env by id, like `gymnasium.make`.

    Args:
        env_id: A short id such as "SalesLLM-zh-hard" (see `list_envs`) or the full
            Gymnasium id "salesenv/SalesLLM-zh-hard-v0".
        **overrides: Keyword arguments for `SalesEnv` (customer, scorer, scenarios,
            max_rounds, render_mode, ...) or the variant (max_followups, portfolio_profile).
    """
    return gym.make(resolve_id(env_id), **overrides)


def make_vec(env_id: str, num_envs: int, **overrides: Any) -> gym.vector.VectorEnv:
    """Creates `num_envs` conversations stepped together with one batched customer call.

    All copies share one customer backend (`customer=` in `overrides`, default the persona
    simulator), so each step sends every running conversation to the backend at once.
    Observations and actions are tuples of str; episodes autoreset on the next step. The
    long-horizon and portfolio variants work too (a session boundary is an ordinary step).
    """
    from gymnasium.envs.registration import load_env_creator

    from salesenv.vector import SalesVectorEnv

    spec = gym.spec(resolve_id(env_id))
    env_class = load_env_creator(spec.entry_point)
    return SalesVectorEnv(num_envs, env_class=env_class, **{**spec.kwargs, **overrides})
