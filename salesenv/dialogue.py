"""Conversation data types shared by every part of salesenv: turns, decisions, dialogues,
and the tag a customer writes to state its decision."""

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


#: How a customer agent writes its decision at the end of an utterance.
DECISION_TAG_FORMAT = "[DECISION: buy|maybe|no|brush_off|hostile]"


def decision_tag(decision: Decision | str) -> str:
    """The tag a customer agent appends to its utterance to end the conversation.

    Args:
        decision: A `Decision` or its value ("buy", "maybe", "no", "brush_off", "hostile").

    Raises:
        ValueError: If `decision` is not one of those values.
    """
    try:
        value = Decision(decision).value
    except ValueError:
        raise ValueError(
            f"unknown decision {decision!r}; use one of {[d.value for d in Decision]}"
        ) from None
    return f"[DECISION: {value}]"


def with_decision(text: str, decision: Decision | str | None) -> str:
    """`text` followed by the decision's tag (just `text` when `decision` is None)."""
    return text if decision is None else f"{text} {decision_tag(decision)}".strip()
