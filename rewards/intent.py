"""Intent scorers: the customer's buying intent at the end of a dialogue, on SalesLLM's scale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from salesenv.dialogue import Dialogue

#: Points per intent level, as in the public SalesLLM evaluation code.
INTENT_POINTS = {"A": 10.0, "B": 8.0, "C": 6.0, "X": 4.0, "F": 2.0}
INTENT_LEVELS = tuple(INTENT_POINTS)


@dataclass(frozen=True)
class IntentResult:
    """An intent level (A/B/C/X/F) and its points."""

    level: str
    score: float


class IntentScorer(Protocol):
    """Scores the buying intent of finished dialogues, many at a time."""

    name: str
    version: str

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[IntentResult]:
        """One result per dialogue, in order."""
        ...


class DecisionIntentScorer:
    """Reads the intent from the customer's explicit decision.

    A dialogue without a decision (a customer backend that never decided) is scored as
    level `undecided_level`, "C" (no intention) by default.
    """

    name = "decision"
    version = "1"

    def __init__(self, undecided_level: str = "C") -> None:
        if undecided_level not in INTENT_POINTS:
            raise ValueError(
                f"undecided_level must be one of {INTENT_LEVELS}, got {undecided_level!r}"
            )
        self.undecided_level = undecided_level

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[IntentResult]:
        results = []
        for dialogue in dialogues:
            level = dialogue.decision.intent_level if dialogue.decision else self.undecided_level
            results.append(IntentResult(level, INTENT_POINTS[level]))
        return results


class UndecidedDialogueError(ValueError):
    """The oracle scorer got a dialogue in which the customer never decided."""


class OracleIntentScorer:
    """The simulator's own final decision, with no fallback: a debugging oracle.

    With the persona simulator the decision is exact (it is the simulator's hidden state,
    not a reading of the text), so comparing a text-based scorer with this oracle on the
    same dialogues measures that scorer's reward noise. Unlike `DecisionIntentScorer` it
    refuses dialogues without a decision instead of scoring them "C".

    Raises:
        UndecidedDialogueError: From `score_batch`, if a dialogue has no decision.
    """

    name = "oracle"
    version = "1"

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[IntentResult]:
        results = []
        for index, dialogue in enumerate(dialogues):
            if dialogue.decision is None:
                raise UndecidedDialogueError(
                    f"dialogue {index} has no customer decision; the oracle scorer needs a "
                    "simulator that decides (the persona customer always does at the end). "
                    "Use DecisionIntentScorer(undecided_level=...) for backends that may not."
                )
            level = dialogue.decision.intent_level
            results.append(IntentResult(level, INTENT_POINTS[level]))
        return results
