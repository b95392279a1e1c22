"""`SalesVectorEnv`: N conversations stepped together, with one batched customer call per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from salesenv.customers.base import CustomerLM
from salesenv.customers.persona import PersonaCustomer
from salesenv.env import SalesEnv


class SalesVectorEnv(VectorEnv):
    """Steps `num_envs` SalesEnvs that share one customer backend.

    Each `step` collects the customer requests of every running conversation and answers
    them with a single `customer.respond` call, so an LLM backend generates them as one
    batch (the OpenAI backend sends them concurrently). Episodes autoreset on the next step
    (Gymnasium's next-step autoreset): a conversation that ended is reset while the others
    go on, and it costs no backend call, so finished conversations hold nobody back.
    Observations and actions are tuples of str.

    Args:
        num_envs: Number of conversations.
        customer: The shared backend (default: the persona simulator).
        env_class: `SalesEnv` or a subclass that keeps its `begin_step`/`finish_step`
            protocol (the long-horizon and portfolio variants do).
        **env_kwargs: Passed to every env (language, difficulty, scorer, ...).

    Raises:
        TypeError: If `env_class` is not a `SalesEnv` subclass.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012 - Gymnasium convention

    def __init__(
        self,
        num_envs: int,
        customer: CustomerLM | None = None,
        env_class: type[SalesEnv] = SalesEnv,
        **env_kwargs: Any,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if not (isinstance(env_class, type) and issubclass(env_class, SalesEnv)):
            raise TypeError(
                f"env_class must be SalesEnv or a subclass of it, got {env_class!r}; wrap other "
                "envs with gymnasium.vector.SyncVectorEnv instead"
            )
        self.customer = customer or PersonaCustomer()
        self.envs = [env_class(customer=self.customer, **env_kwargs) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode = None
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs")
        observations, infos = [], {}
        for i, (env, env_seed) in enumerate(zip(self.envs, seeds, strict=True)):
            observation, info = env.reset(seed=env_seed, options=options)
            observations.append(observation)
            infos = self._add_info(infos, info, i)
        self._needs_reset[:] = False
        return tuple(observations), infos

    def step(
        self, actions: Sequence[str]
    ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if len(actions) != self.num_envs:
            raise ValueError(f"got {len(actions)} actions for {self.num_envs} envs")
        results: list[tuple] = [()] * self.num_envs
        stepping = {}
        for i, env in enumerate(self.envs):
            if self._needs_reset[i]:
                observation, info = env.reset()
                results[i] = (observation, 0.0, False, False, info)
            else:
                stepping[i] = actions[i]
        results_at = self.step_at(stepping)
        for i, result in results_at.items():
            results[i] = result
        observations, rewards, terminated, truncated, infos = [], [], [], [], {}
        for i, (observation, reward, term, trunc, info) in enumerate(results):
            observations.append(observation)
            rewards.append(reward)
            terminated.append(term)
            truncated.append(trunc)
            infos = self._add_info(infos, info, i)
        terminated_arr = np.array(terminated, dtype=bool)
        truncated_arr = np.array(truncated, dtype=bool)
        self._needs_reset = terminated_arr | truncated_arr
        return (
            tuple(observations),
            np.array(rewards, dtype=np.float64),
            terminated_arr,
            truncated_arr,
            infos,
        )

    def reset_at(
        self, index: int, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Resets only conversation `index` (for schedulers that give each conversation its
        own scenario, such as `salesenv eval`); returns its observation and info."""
        observation, info = self.envs[index].reset(seed=seed, options=options)
        self._needs_reset[index] = False
        return observation, info

    def step_at(
        self, actions: Mapping[int, str]
    ) -> dict[int, tuple[str, float, bool, bool, dict[str, Any]]]:
        """Steps only the conversations in `actions` (index -> utterance), with one batched
        customer call, and returns each one's step tuple. Idle conversations are left alone,
        so a scheduler can run the tail of an evaluation without padding episodes. A
        conversation that ended must be reset (`reset_at`) before it is stepped again.

        Raises:
            gymnasium.error.ResetNeeded: If a conversation in `actions` has ended.
        """
        ended = [i for i in actions if self._needs_reset[i]]
        if ended:
            raise gym.error.ResetNeeded(
                f"conversations {ended} have ended: reset them with reset_at() before stepping"
            )
        requests = [self.envs[i].begin_step(action) for i, action in actions.items()]
        replies = self.customer.respond(requests) if requests else []
        results = {}
        for i, reply in zip(actions, replies, strict=True):
            results[i] = self.envs[i].finish_step(reply)
            self._needs_reset[i] = results[i][2] or results[i][3]
        return results

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()
