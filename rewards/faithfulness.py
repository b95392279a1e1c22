"""Faithfulness: claims the salesperson made that the product information does not support."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from salesenv.cues import claimed_numbers
from salesenv.customers.profile import fact_sheet, sheet_facts
from salesenv.customers.reading import sheet_meaning
from salesenv.dialogue import Dialogue


@dataclass(frozen=True)
class FaithfulnessHit:
    """One unsupported claim: which salesperson turn (index into the dialogue's turns),
    what kind ("number", "guarantee", "concession", "unsupported") and the claimed value or
    wording (for "unsupported", the sentence)."""

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
    assert. Negated wording ("not guaranteed", "不保本") is not a claim.

    By meaning (`understanding="semantic"`, the default; version 2): a sentence that no
    fact or clause of the product information supports, without numbers or cue words
    ("there are no hidden fees" about a product whose sheet says nothing of fees), is a
    hit of kind "unsupported" (`salesenv.meaning.SheetMeaning.read`; its recall and false
    flags on the hand-written probes are in the README). The number, guarantee and
    concession checks stay as they were: `understanding="lexical"` is version 1.

    Args:
        understanding: "semantic" or "lexical".
    """

    name = "facts"

    def __init__(self, understanding: str = "semantic") -> None:
        if understanding not in ("semantic", "lexical"):
            raise ValueError(f"understanding must be semantic or lexical, got {understanding!r}")
        self.understanding = understanding
        self.version = "2" if understanding == "semantic" else "1"

    def check_batch(self, dialogues: Sequence[Dialogue]) -> list[FaithfulnessResult]:
        """One result per dialogue, in order."""
        return [self._check(d) for d in dialogues]

    def _check(self, dialogue: Dialogue) -> FaithfulnessResult:
        scenario = dialogue.scenario
        sheet = fact_sheet(scenario)
        meanings = (
            sheet_meaning(scenario.language, sheet_facts(scenario), scenario.salesperson_prompt)
            if self.understanding == "semantic"
            else None
        )
        hits: list[FaithfulnessHit] = []
        said_by_customer: set[str] = set()
        heard = ""
        seller_turns = 0
        for index, turn in enumerate(dialogue.turns):
            if turn.role == "customer":
                said_by_customer |= claimed_numbers(turn.text)
                heard = f"{heard} {turn.text}"
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
            if meanings is not None and not any(h.turn == index for h in hits):
                for sentence in meanings.read(turn.text, heard).unsupported:
                    hits.append(FaithfulnessHit(index, "unsupported", sentence))
        return FaithfulnessResult(tuple(hits), seller_turns)
