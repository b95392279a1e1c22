"""Flattening a dialogue into text for classifiers and LLM graders."""

from __future__ import annotations

from collections.abc import Mapping

from salesenv.dialogue import Dialogue

#: Role tags per language, written before each utterance.
ROLE_TAGS: Mapping[str, Mapping[str, str]] = {
    "zh": {"customer": "客户", "salesperson": "销售"},
    "en": {"customer": "Customer", "salesperson": "Salesperson"},
}


def flatten(dialogue: Dialogue, tags: Mapping[str, Mapping[str, str]] = ROLE_TAGS) -> str:
    """The transcript as lines of "<role tag>: <utterance>" in the scenario's language."""
    names = tags[dialogue.scenario.language]
    separator = "：" if dialogue.scenario.language == "zh" else ": "
    return "\n".join(f"{names[t.role]}{separator}{t.text}" for t in dialogue.turns)
