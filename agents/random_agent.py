"""A random salesperson: stock phrases, product fragments and noise, drawn at random."""

from __future__ import annotations

from typing import Any

import numpy as np

from salesenv.agents.base import product_facts

_STOCK = {
    "zh": [
        "您好。",
        "我们的产品很好。",
        "嗯嗯。",
        "这个可以考虑一下。",
        "今天天气不错。",
        "好的好的。",
        "您看呢？",
        "",
    ],
    "en": [
        "Hello.",
        "Our product is great.",
        "Okay.",
        "You could consider it.",
        "Nice weather today.",
        "Sure, sure.",
        "What do you think?",
        "",
    ],
}
_NOISE = "abcdefghijklmnopqrstuvwxyz 0123456789的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要"


class RandomSalesAgent:
    """Each turn: a stock phrase, a random product fact, or random characters, at random.

    Seeded through `reset(info, seed)`; equal seeds give equal utterances.
    """

    name = "random"

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        self.language = info["language"]
        self.rng = np.random.default_rng(seed)
        _, facts, _ = product_facts(info)
        self.fragments = [f.text for f in facts]

    def act(self, observation: str, info: dict[str, Any]) -> str:
        choice = int(self.rng.integers(3))
        if choice == 0 and self.fragments:
            return self.fragments[int(self.rng.integers(len(self.fragments)))]
        if choice == 1:
            length = int(self.rng.integers(1, 40))
            return "".join(_NOISE[int(i)] for i in self.rng.integers(len(_NOISE), size=length))
        stock = _STOCK[self.language]
        return stock[int(self.rng.integers(len(stock)))]
