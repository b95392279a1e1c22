"""Optional dense shaping: per-turn change of an intent estimate, potential-based.

With a potential Φ over conversation states, the shaping reward of a step from state s to
s' is F = γ·Φ(s') − Φ(s), with Φ = 0 at the end of an episode. Shaping of this form
changes the return of every trajectory by the same −Φ(s₀), so it does not change which
policy is optimal (Ng, Harada and Russell, 1999); it only gives the learner earlier
feedback. The episode's final blended score is unchanged and still arrives at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from salesenv.dialogue import Dialogue
from salesenv.rewards.intent import IntentScorer

Potential = Callable[[Dialogue], float]


@dataclass(frozen=True)
class PotentialShaping:
    """Adds `weight * (gamma * Φ(s') − Φ(s))` to each step's reward.

    Args:
        potential: Φ, from a running dialogue to a number (for example an intent estimate
            on the 0-10 scale).
        weight: Scale of the shaping reward.
        gamma: The discount the learner uses; shaping preserves optimal policies only when
            it matches.
    """

    potential: Potential
    weight: float = 0.1
    gamma: float = 1.0

    def reward(self, before: float, after: float | None) -> float:
        """The shaping reward for a step from potential `before` to `after` (None: the
        episode ended, where Φ is 0)."""
        return self.weight * (self.gamma * (after or 0.0) - before)


def intent_potential(scorer: IntentScorer) -> Potential:
    """Φ = the intent scorer's points on the dialogue so far (for scorers that read the
    transcript, such as the hf or llm scorers; the decision scorer gives a constant)."""

    def potential(dialogue: Dialogue) -> float:
        return scorer.score_batch([dialogue])[0].score

    return potential
