"""Rewards for sales dialogues: intent scorers, judges and their blend (`salesenv.rewards`)."""

from salesenv.rewards.blend import PROFILES, EpisodeScorer, Score, ScoringProfile, get_profile
from salesenv.rewards.faithfulness import FaithfulnessChecker, FaithfulnessHit, FaithfulnessResult
from salesenv.rewards.hf_intent import HFIntentScorer
from salesenv.rewards.intent import (
    INTENT_POINTS,
    DecisionIntentScorer,
    IntentResult,
    IntentScorer,
    OracleIntentScorer,
    UndecidedDialogueError,
)
from salesenv.rewards.judge import Judge, JudgeResult, RubricJudge, RubricWeights
from salesenv.rewards.llm_graders import LLMIntentScorer, LLMJudge
from salesenv.rewards.persona_fidelity import FidelityResult, PersonaFidelity
from salesenv.rewards.shaping import PotentialShaping, intent_potential
from salesenv.rewards.text_intent import E5Encoder, EmbeddedIntentScorer, IntentHead

__all__ = [
    "INTENT_POINTS",
    "PROFILES",
    "DecisionIntentScorer",
    "E5Encoder",
    "EmbeddedIntentScorer",
    "EpisodeScorer",
    "FaithfulnessChecker",
    "FaithfulnessHit",
    "FaithfulnessResult",
    "FidelityResult",
    "HFIntentScorer",
    "IntentHead",
    "IntentResult",
    "IntentScorer",
    "Judge",
    "JudgeResult",
    "LLMIntentScorer",
    "LLMJudge",
    "OracleIntentScorer",
    "PersonaFidelity",
    "PotentialShaping",
    "RubricJudge",
    "RubricWeights",
    "Score",
    "ScoringProfile",
    "UndecidedDialogueError",
    "get_profile",
    "intent_potential",
]
