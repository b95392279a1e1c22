"""A salesperson played by a chat language model on any salesenv chat backend."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from salesenv.customers.chat import ChatBackend, playing_role
from salesenv.customers.thinking import THINKING_FLAG, strip_thinking

#: The cap on one salesperson turn, in characters (SalesEnv's default action length).
MAX_TURN_CHARS = 2000
#: A role tag that chat models sometimes put before their turn ("Salesperson:", "销售：").
_ROLE_TAG = re.compile(
    r"^\s*\**\s*(?:assistant|salesperson|seller|sales agent|销售员|销售|助手)\s*\**\s*[:：]\s*",
    re.I,
)


class LLMSalesAgent:
    """The model under evaluation: it sees the salesperson's system prompt (the product
    information) and the chat so far (`info["messages"]`) and writes the next turn.

    Any backend that implements `ChatBackend.generate` serves: `TransformersChat` (a
    local model), `VLLMChat` (vLLM's engine) or `OpenAIChat` (any OpenAI-compatible
    server); the backend's `sampling` settings apply. The agent keeps no state between
    calls, so one instance answers many conversations at once (`act_batch`): `salesenv eval`
    sends every running conversation of a step to the model as one batch.
    While it generates, the backend's `role` is "salesperson", so a backend error names the
    salesperson, not the customer.

    A reasoning model's `<think>` blocks are removed from each turn before it is said
    (the backend's `chat_template_kwargs` turn Qwen3-family thinking off by default); a
    turn that was all reasoning is said as an empty turn, which the env flags
    (`info["action_empty"]`). `flags` counts what the agent removed over its life
    ("thinking_stripped": turns that had reasoning removed).

    Args:
        backend: The chat backend that runs the model.
        name: The agent's name in results and leaderboards; default "llm:<model>".
        seed: Mixed into every generation's seed; change it for independent samples.
        max_chars: Longer turns are cut to this length (the env flags cut turns too).

    Attributes:
        flags: Counters of what the agent had to clean up, summed over every call.
    """

    def __init__(
        self,
        backend: ChatBackend,
        name: str | None = None,
        seed: int = 0,
        max_chars: int = MAX_TURN_CHARS,
    ) -> None:
        if not isinstance(backend, ChatBackend):
            raise TypeError(
                "LLMSalesAgent needs a chat backend (TransformersChat, VLLMChat or "
                f"OpenAIChat), got {type(backend).__name__}"
            )
        self.backend = backend
        model = backend.describe().get("model", "model")
        self.name = name or f"llm:{PurePath(model).name or model}"
        self.seed = seed
        self.max_chars = max_chars
        self._episode_seed: int | None = None
        self.flags: Counter[str] = Counter()

    def describe(self) -> dict[str, Any]:
        """The agent's name and its backend's name, model and version, for results."""
        return {"name": self.name, "seed": self.seed, **self.backend.describe()}

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        self._episode_seed = seed

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return self.act_batch([observation], [info], [self._episode_seed])[0]

    def act_batch(
        self,
        observations: Sequence[str],
        infos: Sequence[dict[str, Any]],
        seeds: Sequence[int | None],
    ) -> list[str]:
        """The next turn of many conversations, generated in one backend call.

        Args:
            observations: Each conversation's latest customer turn (also in its messages).
            infos: Each conversation's step info; `info["messages"]` is what the model sees.
            seeds: Each conversation's episode seed (None: 0); with the round it fixes the
                generation's seed, so a rerun of an episode samples the same turns.
        """
        if not len(observations) == len(infos) == len(seeds):
            raise ValueError(
                f"got {len(observations)} observations, {len(infos)} infos and {len(seeds)} seeds"
            )
        conversations = [info["messages"] for info in infos]
        generation_seeds = [
            self._generation_seed(seed, info["round"], info["scenario_id"])
            for seed, info in zip(seeds, infos, strict=True)
        ]
        with playing_role(self.backend, "salesperson"):
            raw = self.backend.generate(conversations, generation_seeds)
        return [self._clean(text) for text in raw]

    def _clean(self, text: str) -> str:
        text, thought = strip_thinking(text)
        if thought:
            self.flags[THINKING_FLAG] += 1
        return _ROLE_TAG.sub("", text.strip(), count=1)[: self.max_chars].strip()

    def _generation_seed(self, episode_seed: int | None, round_: int, scenario_id: str) -> int:
        key = f"{self.seed}:{episode_seed or 0}:{scenario_id}:{round_}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF
