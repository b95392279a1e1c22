"""Faithfulness: claims the salesperson made that the product information does not support."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from salesenv.cues import claimed_numbers
from salesenv.customers.profile import fact_sheet
from salesenv.dialogue import Dialogue


@dataclass(frozen=True)
class FaithfulnessHit:
    """One unsupported claim: which salesperson turn (index into the dialogue's turns),
    what kind ("number", "guarantee", "concession") and the claimed value or wording."""

    turn: int
    kind: str
    claim: str


@dataclass(frozen=True)
class FaithfulnessResult:
    """The unsupported claims of one dialogue and how many salesperson turns it had."""

    hits: tuple[FaithfulnessHit, ...]
    seller_turns: int

    @property
    def turn_rate(self) -> float:
        """The share of salesperson turns with at least one unsupported claim."""
        flagged = len({h.turn for h in self.hits})
        return flagged / self.seller_turns if self.seller_turns else 0.0


class FaithfulnessChecker:
    """Finds invented facts and unauthorised concessions in the salesperson's turns.

    A claim is unsupported when it is a number (a percentage, money, a decimal or a
    number above 12) that appears neither in the product information nor earlier in the
    customer's words, a guarantee ("guaranteed", "risk-free", "保本") or a concession
    ("discount", "free upgrade", "打折") that the product information does not itself
    assert. Negated wording ("not guaranteed", "不保本") is not a claim. It reads cue
    words and numbers, not meaning: a false statement without a number or a cue word is
    not caught.
    """

    name = "facts"
    version = "1"

    def check_batch(self, dialogues: Sequence[Dialogue]) -> list[FaithfulnessResult]:
        """One result per dialogue, in order."""
        return [self._check(d) for d in dialogues]

    def _check(self, dialogue: Dialogue) -> FaithfulnessResult:
        sheet = fact_sheet(dialogue.scenario)
        hits: list[FaithfulnessHit] = []
        said_by_customer: set[str] = set()
        seller_turns = 0
        for index, turn in enumerate(dialogue.turns):
            if turn.role == "customer":
                said_by_customer |= claimed_numbers(turn.text)
                continue
            seller_turns += 1
            for number in sorted(
                sheet.unsupported_numbers(turn.text, also_allowed=said_by_customer)
            ):
                hits.append(FaithfulnessHit(index, "number", number))
            for word in sorted(sheet.unsupported_guarantees(turn.text)):
                hits.append(FaithfulnessHit(index, "guarantee", word))
            for word in sorted(sheet.unsupported_concessions(turn.text)):
                hits.append(FaithfulnessHit(index, "concession", word))
        return FaithfulnessResult(tuple(hits), seller_turns)
