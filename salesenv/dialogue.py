"""Conversation data types shared by every part of salesenv: turns, decisions, dialogues."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from salesenv.scenarios.scenario import Scenario

Role = Literal["customer", "salesperson"]


class Decision(enum.Enum):
    """The customer's explicit decision at the end of a conversation.

    Each decision maps to one of the paper's five buying-intent levels.
    """

    BUY = "buy"
    MAYBE = "maybe"
    NO = "no"
    BRUSH_OFF = "brush_off"
    HOSTILE = "hostile"

    @property
    def intent_level(self) -> str:
        """The SalesLLM intent level: A clearly buying, B may buy, C no intention,
        X perfunctory, F insulting."""
        return _LEVELS[self]


_LEVELS = {
    Decision.BUY: "A",
    Decision.MAYBE: "B",
    Decision.NO: "C",
    Decision.BRUSH_OFF: "X",
    Decision.HOSTILE: "F",
}


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance of the conversation."""

    role: Role
    text: str


@dataclass(frozen=True)
class Dialogue:
    """A finished (or running) conversation, as scorers see it.

    Attributes:
        scenario: The scenario the conversation was played in.
        turns: Every utterance in order, starting with the customer's trigger sentence.
        decision: The customer's explicit decision, or None if it never decided.
    """

    scenario: Scenario
    turns: tuple[Turn, ...]
    decision: Decision | None = None
