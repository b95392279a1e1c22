"""The customer agent's reward: how faithfully it played its persona (0-10).

Used by the two-agent env (`salesenv.multiagent`) to score the customer side of a dialogue:
decision alignment with what the persona simulator decides on the same seller turns, minus
penalties for role-inverted and wrong-language customer turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from salesenv.cues import in_language
from salesenv.customers.base import CustomerRequest
from salesenv.customers.chat import is_role_inversion
from salesenv.customers.persona import PersonaCustomer
from salesenv.dialogue import Decision, Dialogue

#: Intent ladder from most to least positive: A buy, B maybe, C no, X brush_off, F hostile.
LADDER = (Decision.BUY, Decision.MAYBE, Decision.NO, Decision.BRUSH_OFF, Decision.HOSTILE)


@dataclass(frozen=True)
class FidelityResult:
    """How faithfully a customer played its persona in one dialogue.

    Attributes:
        reward: The fidelity reward, 0-10.
        alignment: Decision alignment, 0-1 (1: the persona's intent level).
        decision: The customer's decision value, or None if it never decided.
        reference_decision: What the persona simulator decides on the same seller turns.
        customer_turns: Customer turns scored (the trigger sentence is not one).
        role_inversions: Customer turns that act as the seller.
        wrong_language: Customer turns not in the scenario's language.
    """

    reward: float
    alignment: float
    decision: str | None
    reference_decision: str
    customer_turns: int
    role_inversions: int
    wrong_language: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class PersonaFidelity:
    """The customer agent's reward: decision alignment with the persona, minus penalties.

    The reference decision replays the dialogue's seller turns, one at a time, through a
    fresh persona simulator with the episode's seed (it is deterministic, so this is
    exactly what the simulator would have done): its first decision, or, if it has not
    decided by the seller turn the customer ended on, its forced decision there
    (`must_decide`). Then

        reward = clip(10 * alignment - role_inversion_penalty * inverted_turns
                      - wrong_language_penalty * wrong_language_turns, 0, 10)
        alignment = 1 - |rank(decision) - rank(reference)| / 4   (ladder A > B > C > X > F)

    and `undecided_alignment` when the customer never decided.

    Args:
        role_inversion_penalty: Points per role-inverted customer turn.
        wrong_language_penalty: Points per customer turn not in the scenario's language.
        undecided_alignment: Alignment of a customer that never decided (0-1).
    """

    name = "persona-fidelity"
    version = "1"

    def __init__(
        self,
        role_inversion_penalty: float = 2.0,
        wrong_language_penalty: float = 2.0,
        undecided_alignment: float = 0.0,
    ) -> None:
        if role_inversion_penalty < 0 or wrong_language_penalty < 0:
            raise ValueError(
                "penalties must be >= 0, got "
                f"role_inversion_penalty={role_inversion_penalty}, "
                f"wrong_language_penalty={wrong_language_penalty}"
            )
        if not 0.0 <= undecided_alignment <= 1.0:
            raise ValueError(f"undecided_alignment must lie in [0, 1], got {undecided_alignment}")
        self.role_inversion_penalty = role_inversion_penalty
        self.wrong_language_penalty = wrong_language_penalty
        self.undecided_alignment = undecided_alignment
        self._persona = PersonaCustomer()

    def reference_decision(self, dialogue: Dialogue, seed: int) -> Decision:
        """The persona simulator's decision on the dialogue's seller turns and `seed`.

        Raises:
            ValueError: If the dialogue has no seller turn.
        """
        turns = dialogue.turns
        ends = [i + 1 for i, t in enumerate(turns) if t.role == "salesperson"]
        if not ends:
            raise ValueError("the dialogue has no seller turn: nothing to compare with the persona")
        conversation_id = f"fidelity:{dialogue.scenario.id}:{seed}"
        try:
            for k, end in enumerate(ends, start=1):
                request = CustomerRequest(
                    conversation_id=conversation_id,
                    scenario=dialogue.scenario,
                    turns=turns[:end],
                    seed=seed,
                    must_decide=k == len(ends),
                )
                decision = self._persona.respond([request])[0].decision
                if decision is not None:
                    return decision
        finally:
            self._persona.release(conversation_id)
        raise AssertionError(
            "the persona simulator always decides when it must"
        )  # pragma: no cover

    def score(self, dialogue: Dialogue, seed: int) -> FidelityResult:
        """Scores the customer side of one finished dialogue played with `seed`."""
        reference = self.reference_decision(dialogue, seed)
        decision = dialogue.decision
        if decision is None:
            alignment = self.undecided_alignment
        else:
            distance = abs(LADDER.index(decision) - LADDER.index(reference))
            alignment = 1.0 - distance / (len(LADDER) - 1)
        language = dialogue.scenario.language
        said = [t.text for t in dialogue.turns[1:] if t.role == "customer"]
        inverted = sum(is_role_inversion(text) for text in said)
        wrong = sum(not in_language(text, language) for text in said)
        reward = (
            10.0 * alignment
            - self.role_inversion_penalty * inverted
            - self.wrong_language_penalty * wrong
        )
        return FidelityResult(
            reward=float(min(10.0, max(0.0, reward))),
            alignment=alignment,
            decision=decision.value if decision else None,
            reference_decision=reference.value,
            customer_turns=len(said),
            role_inversions=inverted,
            wrong_language=wrong,
        )

    def score_batch(
        self, dialogues: Sequence[Dialogue], seeds: Sequence[int]
    ) -> list[FidelityResult]:
        """One result per (dialogue, seed), in order."""
        if len(dialogues) != len(seeds):
            raise ValueError(f"got {len(dialogues)} dialogues but {len(seeds)} seeds")
        return [self.score(d, s) for d, s in zip(dialogues, seeds, strict=True)]
