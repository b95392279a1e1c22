"""Flattening a dialogue into text for classifiers and LLM graders.

Two flattenings exist:

- `flatten` (salesenv's, the default everywhere): one line per utterance, "<role tag>:
  <utterance>" with role tags in the scenario's language ("客户：…" / "Customer: …").
- `flatten_official` (the public SalesLLM scorer's rule, for the official protocol): every
  message from the customer's trigger on, each written as a tag followed at once by its
  text, with no separator, space or newline anywhere: "[USER]<text>[ASSISTANT]<text>…".
  The salesperson is "[ASSISTANT]", every other role "[USER]"; the tags are the same in
  both languages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from salesenv.dialogue import Dialogue

#: Role tags per language, written before each utterance.
ROLE_TAGS: Mapping[str, Mapping[str, str]] = {
    "zh": {"customer": "客户", "salesperson": "销售"},
    "en": {"customer": "Customer", "salesperson": "Salesperson"},
}

#: The public SalesLLM scorer's role tags (salesperson = assistant, customer = user).
OFFICIAL_TAGS: Mapping[str, str] = {"salesperson": "[ASSISTANT]", "customer": "[USER]"}


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


def flatten_official(dialogue: Dialogue) -> str:
    """The transcript as the public SalesLLM scorer writes it: "[USER]…[ASSISTANT]…",
    every utterance from the trigger on, tags glued to the text, no separators."""
    return flatten_official_turns([(t.role, t.text) for t in dialogue.turns])


def flatten_official_turns(turns: Sequence[tuple[str, str]]) -> str:
    """`flatten_official` for (role, text) pairs; any role but "salesperson" is "[USER]"."""
    salesperson, user = OFFICIAL_TAGS["salesperson"], OFFICIAL_TAGS["customer"]
    return "".join(
        f"{salesperson if role == 'salesperson' else user}{text}" for role, text in turns
    )


#: The flattenings by name, as `HFIntentScorer(flattening=...)` takes them.
FLATTENINGS: Mapping[str, Callable[[Dialogue], str]] = {
    "salesenv": flatten,
    "official": flatten_official,
}
