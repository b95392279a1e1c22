"""Difficulty labels and buy-inclination scores as the public SalesLLM scripts write them."""

from __future__ import annotations

import re

#: Propensity of each difficulty profile, used to infer a missing label from the score.
PROPENSITIES = {"easy": 0.80, "medium": 0.50, "hard": 0.20, "very_hard": 0.10, "adversarial": 0.05}

_LABELS = {
    "easy": "easy",
    "simple": "easy",
    "简单": "easy",
    "容易": "easy",
    "简易": "easy",
    "medium": "medium",
    "moderate": "medium",
    "normal": "medium",
    "intermediate": "medium",
    "中等": "medium",
    "中级": "medium",
    "一般": "medium",
    "普通": "medium",
    "适中": "medium",
    "hard": "hard",
    "difficult": "hard",
    "困难": "hard",
    "较难": "hard",
    "难": "hard",
    "较困难": "hard",
    "有难度": "hard",
    "veryhard": "very_hard",
    "verydifficult": "very_hard",
    "extremelyhard": "very_hard",
    "非常困难": "very_hard",
    "很困难": "very_hard",
    "非常难": "very_hard",
    "很难": "very_hard",
    "极难": "very_hard",
    "极其困难": "very_hard",
    "特别困难": "very_hard",
    "超难": "very_hard",
    "adversarial": "adversarial",
    "hostile": "adversarial",
    "对抗性": "adversarial",
    "对抗": "adversarial",
    "对抗型": "adversarial",
    "敌对": "adversarial",
    "敌对型": "adversarial",
    "opponent": "adversarial",
    "敌意": "adversarial",
    "敌意型": "adversarial",
    "高": "hard",
    "高难度": "hard",
    "极高": "very_hard",
    "低": "easy",
}
_DIFFICULTY_LINE = re.compile(
    r"(?:difficulty(?:[ \t_-]*level)?|难度(?:等级|级别|水平)?)[ \t]*[:：=][ \t]*([^\n,，;；(（]+)",
    re.I,
)
_SCORE_LINE = re.compile(
    r"(?:buy(?:ing)?[ \t_-]*inclination(?:[ \t_-]*score)?|购买倾向(?:分数|得分|分)?|购买意愿(?:分数|得分|分)?)"
    r"[ \t]*[:：=][ \t]*([0-9]*\.?[0-9]+)",
    re.I,
)


def parse_difficulty(label: str) -> str | None:
    """Maps a difficulty label in English or Chinese ("Very Hard", "very_hard", "非常困难")
    to a difficulty id, or None when it is not recognised."""
    key = re.sub(r"[\s_\-'\"`*.。:：]+", "", label.strip().lower())
    return _LABELS.get(key)


def difficulty_from_score(score: float) -> str:
    """The profile whose buy propensity is nearest to `score`."""
    return min(PROPENSITIES, key=lambda d: (abs(PROPENSITIES[d] - score), PROPENSITIES[d]))


def read_difficulty(prompt: str) -> tuple[str | None, float | None]:
    """The difficulty id and buy-inclination score written in a customer prompt, if any."""
    difficulty = None
    for match in _DIFFICULTY_LINE.finditer(prompt):
        difficulty = parse_difficulty(match.group(1))
        if difficulty:
            break
    score_match = _SCORE_LINE.search(prompt)
    score = float(score_match.group(1)) if score_match else None
    if score is not None and not 0.0 <= score <= 1.0:
        score = score / 10 if score <= 10 else None
    return difficulty, score
