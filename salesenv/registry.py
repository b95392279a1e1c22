"""The env registry: `salesenv.make`, `salesenv.make_vec`, `salesenv.list_envs` and the
Gymnasium ids `salesenv/SalesLLM-{zh,en}-{difficulty}[-{variant}]-v0`."""

from __future__ import annotations

import difflib
from typing import Any

import gymnasium as gym

NAMESPACE = "salesenv"
VERSION = "v0"
LANGUAGE_IDS = ("zh", "en")
#: Id spelling -> difficulty passed to SalesEnv ("mixed" draws with the benchmark's mix).
DIFFICULTY_IDS = {
    "easy": "easy",
    "medium": "medium",
    "hard": "hard",
    "veryhard": "very_hard",
    "adversarial": "adversarial",
    "mixed": "mixed",
}
#: Variant suffix -> entry point ("" is the plain one-session, one-product env).
VARIANTS = {
    "": "salesenv.env:SalesEnv",
    "longhorizon": "salesenv.longhorizon:LongHorizonSalesEnv",
    "portfolio": "salesenv.portfolio_env:PortfolioSalesEnv",
}


class UnknownEnvError(gym.error.NameNotFound):
    """An env id that salesenv does not know; the message lists close matches."""


def _short_id(lang: str, difficulty: str, variant: str) -> str:
    return f"SalesLLM-{lang}-{difficulty}" + (f"-{variant}" if variant else "")


def _short_ids(variants: tuple[str, ...] = tuple(VARIANTS)) -> list[str]:
    return [
        _short_id(lang, diff, variant)
        for variant in variants
        for lang in LANGUAGE_IDS
        for diff in DIFFICULTY_IDS
    ]


def register_envs() -> None:
    """Registers every salesenv id with Gymnasium (idempotent)."""
    for variant, entry_point in VARIANTS.items():
        for lang in LANGUAGE_IDS:
            for spelling, difficulty in DIFFICULTY_IDS.items():
                env_id = f"{NAMESPACE}/{_short_id(lang, spelling, variant)}-{VERSION}"
                if env_id in gym.registry:
                    continue
                gym.register(
                    id=env_id,
                    entry_point=entry_point,
                    kwargs={"language": lang, "difficulty": difficulty},
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
        return _short_ids()
    if variant not in VARIANTS:
        raise ValueError(f"variant must be None or one of {list(VARIANTS)}, got {variant!r}")
    return _short_ids((variant,))


def resolve_id(env_id: str) -> str:
    """Maps a short or full id to the registered Gymnasium id.

    Accepts "SalesLLM-zh-hard", "SalesLLM-zh-hard-v0" and "salesenv/SalesLLM-zh-hard-v0".

    Raises:
        UnknownEnvError: If the id is unknown; the message suggests close matches.
    """
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a str, got {type(env_id).__name__}")
    short = env_id.removeprefix(f"{NAMESPACE}/").removesuffix(f"-{VERSION}")
    if short not in _short_ids():
        close = difflib.get_close_matches(short, _short_ids(), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownEnvError(
            f"Unknown salesenv id {env_id!r}.{hint} salesenv.list_envs() lists all "
            f"{len(_short_ids())} ids."
        )
    return f"{NAMESPACE}/{short}-{VERSION}"


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
