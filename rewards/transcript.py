"""Flattening a dialogue into text for classifiers and LLM graders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from salesenv.dialogue import Dialogue

#: Role tags per language, written before each utterance.
ROLE_TAGS: Mapping[str, Mapping[str, str]] = {
    "zh": {"customer": "客户", "salesperson": "销售"},
    "en": {"customer": "Customer", "salesperson": "Salesperson"},
}


def flatten(dialogue: Dialogue, tags: Mapping[str, Mapping[str, str]] = ROLE_TAGS) -> str:
    """The transcript as lines of "<role tag>: <utterance>" in the scenario's language."""
    turns = [(t.role, t.text) for t in dialogue.turns]
    return flatten_turns(turns, dialogue.scenario.language, tags)


def flatten_turns(
    turns: Sequence[tuple[str, str]],
    language: str,
    tags: Mapping[str, Mapping[str, str]] = ROLE_TAGS,
) -> str:
    """`flatten` for (role, text) pairs, e.g. corpus or real dialogues without a scenario."""
    names = tags[language]
    separator = "：" if language == "zh" else ": "
    return "\n".join(f"{names[role]}{separator}{text}" for role, text in turns)
