"""The sales-agent interface: the salesperson's next utterance from what it has seen."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from salesenv.cues import lexicon
from salesenv.scenarios.scenario import Fact


@runtime_checkable
class SalesAgent(Protocol):
    """A salesperson policy.

    `reset` is called with the info of `env.reset` at the start of each episode; `act`
    gets the customer's latest utterance and the step's info (which carries the
    salesperson's system prompt and the chat so far as OpenAI-style messages).
    """

    name: str

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        """Prepares for a new conversation."""
        ...

    def act(self, observation: str, info: dict[str, Any]) -> str:
        """The salesperson's next utterance."""
        ...


@runtime_checkable
class BatchSalesAgent(Protocol):
    """A salesperson that answers many conversations in one call (an LLM agent).

    It keeps no state between calls: everything it needs is in each conversation's info
    (`info["messages"]`), plus the episode's seed. `salesenv eval` calls `act_batch` once
    per step with every running conversation, so the model generates them as one batch.
    """

    name: str

    def act_batch(
        self,
        observations: Sequence[str],
        infos: Sequence[dict[str, Any]],
        seeds: Sequence[int | None],
    ) -> list[str]:
        """The next turn of each conversation, in order."""
        ...


_BULLET = re.compile(r"^\s*[-*•]\s*(.+?)\s*$", re.M)
_SECTION_HEAD = re.compile(r"[:：]\s*$")


def product_facts(info: dict[str, Any]) -> tuple[str, tuple[Fact, ...], tuple[str, ...]]:
    """The product's name, facts and selling points as the salesperson sees them.

    Uses the structured product sheet in `info["product"]` when there is one; otherwise
    reads the bullet lines of the system prompt and tags each with the factors its words
    name (for scenarios loaded from prompts only).
    """
    product = info.get("product")
    if product:
        facts = tuple(Fact(f["factor"], f["text"]) for f in product["facts"])
        return product["name"], facts, tuple(product["selling_points"])
    lex = lexicon(info["language"])
    facts = []
    for line in _BULLET.findall(info.get("system_prompt", "")):
        if _SECTION_HEAD.search(line):
            continue
        for factor in sorted(lex.factors_in(line)):
            facts.append(Fact(factor, line))
    name = "这个产品" if info["language"] == "zh" else "this product"
    return name, tuple(facts), ()
