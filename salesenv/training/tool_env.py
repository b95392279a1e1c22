"""`SalesToolEnvironment`: TRL's `environment_factory` alternative to `SalesRollout`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesenv.env import SalesEnv
from salesenv.training.rollouts import EnvPool


class SalesToolEnvironment:
    """An `environment_factory` environment for TRL: the salesperson speaks via a tool.

    For models whose chat template supports tool calling (TRL checks it): TRL calls
    `reset(**row)` before each rollout, offers `say` as a tool, runs the tool-calling loop
    (each call's result, the customer's reply, is masked out of the loss) and scores the
    rollout with `get_reward()`. Use with `salesenv.training.episode_rows`' dataset:

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
        self.pool = EnvPool(customer, scorer, env_kwargs)
        self.env: SalesEnv | None = None
        self.reward = 0.0
        self.done = False

    def reset(self, env_id: str, seed: int, **row: Any) -> None:
        """Starts the episode of a dataset row (its `env_id` and `seed`); the prompt
        already holds the customer's opening, so nothing is appended to it."""
        self.env = self.pool.envs([(env_id, int(seed))])[0]
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
