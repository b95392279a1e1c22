"""A passive Q&A salesperson: answers what it is asked, never discovers needs or closes."""

from __future__ import annotations

from typing import Any

from salesenv.agents.base import product_facts
from salesenv.agents.restate import restate
from salesenv.cues import lexicon

_LINES = {
    "zh": {"answer": "{fact}。", "idle": "您有什么问题可以随时问我。"},
    "en": {"answer": "{fact}.", "idle": "Let me know if you have any questions."},
}


class PassiveSalesAgent:
    """Answers a question with the first fact on the factor asked about, in its own words
    (`salesenv.agents.restate`, as the salesperson's rules ask); otherwise waits.

    A baseline for "knows the product, does not sell": it never asks about needs, never
    handles objections and never proposes a next step.
    """

    name = "passive"

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        self.language = info["language"]
        _, self.facts, _ = product_facts(info)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        lines = _LINES[self.language]
        asked = lexicon(self.language).factors_in(observation)
        for fact in self.facts:
            if fact.factor in asked:
                return lines["answer"].format(fact=restate(fact.text, self.language))
        return lines["idle"]
