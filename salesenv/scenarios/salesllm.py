"""Reads scripts in the public SalesLLM JSONL format into `Scenario`s.

The public files carry `id`, `user_system_prompt` (customer), `assistant_system_prompt`
(salesperson), `trigger_sentence_zh` and `trigger_sentence_en`. The difficulty and
buy-inclination lines inside `user_system_prompt` are loosely formatted, so they are
parsed leniently; the prompts themselves are kept verbatim.
"""

from __future__ import annotations

import re
from typing import Any

from salesenv.cues import cjk_share
from salesenv.scenarios.scenario import Scenario

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


class ScriptSkipped(ValueError):
    """A script that cannot be used; the message says why."""


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


def scenario_from_salesllm(record: dict[str, Any]) -> Scenario:
    """Builds a scenario from one public SalesLLM record.

    The difficulty comes from the label when there is one, else from the buy-inclination
    score, else "medium"; the buy propensity is the score when there is one, else the
    profile's.

    Raises:
        ScriptSkipped: If the record has no usable prompts or trigger sentence.
    """
    if not isinstance(record, dict):
        raise ScriptSkipped("the line is not a JSON object")
    customer = record.get("user_system_prompt")
    seller = record.get("assistant_system_prompt")
    if not isinstance(customer, str) or not customer.strip():
        raise ScriptSkipped("user_system_prompt is missing or empty")
    if not isinstance(seller, str) or not seller.strip():
        raise ScriptSkipped("assistant_system_prompt is missing or empty")
    language = _language(record, customer)
    triggers = [record.get(f"trigger_sentence_{language}"), record.get("trigger_sentence")]
    triggers += [
        record.get(f"trigger_sentence_{other}") for other in ("zh", "en") if other != language
    ]
    trigger = next((t for t in triggers if isinstance(t, str) and t.strip()), None)
    if trigger is None:
        raise ScriptSkipped("no trigger sentence (trigger_sentence_zh / trigger_sentence_en)")
    difficulty, score = read_difficulty(customer)
    if difficulty is None:
        difficulty = difficulty_from_score(score) if score is not None else "medium"
    return Scenario(
        language=language,
        difficulty=difficulty,
        buy_propensity=score if score is not None else PROPENSITIES[difficulty],
        customer_prompt=customer,
        salesperson_prompt=seller,
        trigger=trigger,
        source="salesllm",
        source_id=str(record["id"]) if record.get("id") is not None else None,
    )


def _language(record: dict[str, Any], customer_prompt: str) -> str:
    declared = str(record.get("language") or "").strip().lower()
    if declared in ("zh", "cn", "chinese", "zh-cn", "中文"):
        return "zh"
    if declared in ("en", "english", "en-us"):
        return "en"
    return "zh" if cjk_share(customer_prompt) >= 0.3 else "en"
