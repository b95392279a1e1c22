"""The persona customer's reading of a scenario by meaning: its phrase bank, every decision
factor's prototype texts, and the product information as `salesenv.meaning.SheetMeaning`
(computed once per product sheet). Shared by the persona customer and the rubric judge so
that both read a turn the same way.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import yaml

from salesenv.customers.questions import all_questions
from salesenv.meaning import SheetMeaning


@functools.lru_cache(maxsize=4096)
def sheet_meaning(
    language: str, facts: tuple[tuple[str, str], ...], reference: str
) -> SheetMeaning:
    """The product information read by meaning, with every factor's prototypes: its names
    and the questions the customer asks about it (computed once per sheet).

    Args:
        language: The scenario's language.
        facts: (factor, text) facts (`salesenv.customers.profile.sheet_facts`).
        reference: All product information the salesperson was given (its prompt).
    """
    return SheetMeaning(language, facts, factor_prototypes(language), reference)


@functools.cache
def factor_prototypes(language: str) -> dict[str, tuple[str, ...]]:
    """Factor id -> texts that ask or talk about it in `language`: the factor's names and
    every question of every kind's bank about it (`salesenv.customers.questions`), with
    their slots removed."""
    found: dict[str, list[str]] = {}
    for factor, names in phrases()["factor_names"].items():
        found.setdefault(factor, []).append(names[language])
    for factor, template in all_questions(language):
        found.setdefault(factor, []).append(re.sub(r"\{\w+\}", "", template))
    return {factor: tuple(dict.fromkeys(texts)) for factor, texts in found.items()}


@functools.cache
def phrases() -> dict:
    """The customer phrase bank (package data), keyed by language then by move."""
    path = resources.files("salesenv.customers") / "data" / "phrases.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))
