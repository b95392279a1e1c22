"""Rewards for sales dialogues: intent scorers, judges and their blend (`salesenv.rewards`)."""

from salesenv.rewards.blend import PROFILES, EpisodeScorer, Score, ScoringProfile, get_profile
from salesenv.rewards.intent import (
    INTENT_POINTS,
    DecisionIntentScorer,
    IntentResult,
    IntentScorer,
)
from salesenv.rewards.judge import Judge, JudgeResult, RubricJudge, RubricWeights

__all__ = [
    "INTENT_POINTS",
    "PROFILES",
    "DecisionIntentScorer",
    "EpisodeScorer",
    "IntentResult",
    "IntentScorer",
    "Judge",
    "JudgeResult",
    "RubricJudge",
    "RubricWeights",
    "Score",
    "ScoringProfile",
    "get_profile",
]
