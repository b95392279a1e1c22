"""The final score: a versioned blend of buying intent and the judge's score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from salesenv.dialogue import Dialogue
from salesenv.rewards.faithfulness import FaithfulnessChecker
from salesenv.rewards.intent import DecisionIntentScorer, IntentScorer
from salesenv.rewards.judge import Judge, RubricJudge


@dataclass(frozen=True)
class ScoringProfile:
    """A named, versioned way to blend: `final = alpha * intent + (1 - alpha) * judge`."""

    name: str
    version: str
    alpha: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")

    def blend(self, intent: float, judge: float) -> float:
        """The final score on the 0-10 scale."""
        return self.alpha * intent + (1.0 - self.alpha) * judge


#: alpha = 0.5 as in the paper; 0.6 as in the public code's README.
PROFILES = {
    "paper": ScoringProfile("paper", "1", 0.5),
    "salesllm-readme": ScoringProfile("salesllm-readme", "1", 0.6),
}


def get_profile(name: str) -> ScoringProfile:
    """Looks up a scoring profile by name.

    Raises:
        KeyError: If no profile has that name; the message lists the known ones.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown scoring profile {name!r}; known: {sorted(PROFILES)}") from None


@dataclass(frozen=True)
class Score:
    """Every part of one dialogue's score."""

    final: float
    intent: float
    intent_level: str
    judge: float
    alpha: float
    profile: str
    profile_version: str
    intent_scorer: str
    judge_name: str
    judge_features: dict[str, float]
    unfaithful_claims: int = 0
    unfaithful_turn_rate: float = 0.0
    faithfulness_penalty: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class EpisodeScorer:
    """Scores finished dialogues with an intent scorer, a judge and a scoring profile.

    Every score also reports the salesperson's unsupported claims (invented numbers,
    guarantees, concessions; see `FaithfulnessChecker`). With `faithfulness_penalty` > 0
    each such claim lowers the final score by that many points (not below 0); the default
    0 keeps the paper's blend unchanged.

    Args:
        intent: The intent scorer (default: the customer's explicit decision).
        judge: The judge (default: the rubric judge).
        profile: A `ScoringProfile` or the name of one in `PROFILES`.
        faithfulness_penalty: Points off the final score per unsupported claim.
    """

    def __init__(
        self,
        intent: IntentScorer | None = None,
        judge: Judge | None = None,
        profile: ScoringProfile | str = "paper",
        faithfulness_penalty: float = 0.0,
    ) -> None:
        if faithfulness_penalty < 0:
            raise ValueError(f"faithfulness_penalty must be >= 0, got {faithfulness_penalty}")
        self.faithfulness_penalty = faithfulness_penalty
        self.faithfulness = FaithfulnessChecker()
        self.intent = intent or DecisionIntentScorer()
        self.judge = judge or RubricJudge()
        self.profile = get_profile(profile) if isinstance(profile, str) else profile

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[Score]:
        """One `Score` per dialogue, in order."""
        intents = self.intent.score_batch(dialogues)
        judgements = self.judge.judge_batch(dialogues)
        checks = self.faithfulness.check_batch(dialogues)
        p = self.profile
        return [
            Score(
                final=max(0.0, p.blend(i.score, j.score) - self.faithfulness_penalty * len(c.hits)),
                intent=i.score,
                intent_level=i.level,
                judge=float(j.score),
                alpha=p.alpha,
                profile=p.name,
                profile_version=p.version,
                intent_scorer=f"{self.intent.name}-v{self.intent.version}",
                judge_name=f"{self.judge.name}-v{self.judge.version}",
                judge_features=j.features,
                unfaithful_claims=len(c.hits),
                unfaithful_turn_rate=c.turn_rate,
                faithfulness_penalty=self.faithfulness_penalty,
            )
            for i, j, c in zip(intents, judgements, checks, strict=True)
        ]
