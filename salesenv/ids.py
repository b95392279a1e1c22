"""Env ids, languages, difficulties and variants: spelled once, parsed in one place.

An env id is `SalesLLM-{language}-{difficulty}[-{variant}]`, e.g. "SalesLLM-zh-hard" or
"SalesLLM-en-veryhard-longhorizon"; Gymnasium registers it as
"salesenv/SalesLLM-zh-hard-v0". Difficulties are the scenario profiles of
`salesenv.scenarios.scenario.DIFFICULTIES` ("very_hard" is the paper's spelling) plus
"mixed" (the benchmark's mix); inside an id, "very_hard" is written "veryhard". Everything
that reads or writes an id, a difficulty from the command line or a config, uses this
module (pure Python: importing it loads no Gymnasium).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from salesenv import catalog
from salesenv.scenarios.scenario import DIFFICULTIES, LANGUAGES

NAMESPACE = "salesenv"
VERSION = "v0"
PREFIX = "SalesLLM"
#: "mixed" samples each scenario's difficulty with the benchmark's mix.
MIXED = "mixed"
#: Difficulties an env can be made with, as profiles ("very_hard"), in the ids' order.
ENV_DIFFICULTIES = (*DIFFICULTIES, MIXED)
#: Variant suffixes of an id, one per `env` row of the catalog; "" is the plain env.
VARIANTS = tuple("" if c.option == "plain" else c.option for c in catalog.options("env"))


class UnknownIdError(ValueError):
    """A language, difficulty, variant or env id that salesenv does not know."""


def id_spelling(difficulty: str) -> str:
    """How a difficulty is written inside an env id ("very_hard" -> "veryhard")."""
    return parse_difficulty(difficulty).replace("_", "")


def parse_difficulty(text: str) -> str:
    """The profile name of a difficulty in any accepted spelling.

    "very_hard", "veryhard", "very-hard" and "Very Hard" all give "very_hard".

    Raises:
        UnknownIdError: On an unknown difficulty; the message lists the valid ones.
    """
    key = str(text).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    for difficulty in ENV_DIFFICULTIES:
        if key == difficulty.replace("_", ""):
            return difficulty
    raise UnknownIdError(
        f"unknown difficulty {text!r}; choose one of {', '.join(ENV_DIFFICULTIES)} "
        "(very_hard may be written veryhard)"
    )


def parse_language(text: str) -> str:
    """A language code, checked.

    Raises:
        UnknownIdError: If it is not "zh" or "en".
    """
    if text not in LANGUAGES:
        raise UnknownIdError(f"unknown language {text!r}; choose one of {', '.join(LANGUAGES)}")
    return text


@dataclass(frozen=True)
class EnvId:
    """The parts of an env id.

    Attributes:
        language: "zh" or "en".
        difficulty: A profile of `ENV_DIFFICULTIES` ("very_hard", not "veryhard").
        variant: One of `VARIANTS` ("" for the plain env).
    """

    language: str
    difficulty: str
    variant: str = ""

    def __post_init__(self) -> None:
        parse_language(self.language)
        if self.difficulty not in ENV_DIFFICULTIES:
            raise UnknownIdError(
                f"difficulty must be one of {ENV_DIFFICULTIES}, got {self.difficulty!r} "
                "(parse_difficulty accepts other spellings)"
            )
        if self.variant not in VARIANTS:
            raise UnknownIdError(f"variant must be one of {VARIANTS}, got {self.variant!r}")

    def __str__(self) -> str:
        return self.short

    @property
    def short(self) -> str:
        """The id `salesenv.make` takes, e.g. "SalesLLM-zh-veryhard-longhorizon"."""
        parts = [PREFIX, self.language, id_spelling(self.difficulty)]
        return "-".join(parts + ([self.variant] if self.variant else []))

    @property
    def gym_id(self) -> str:
        """The registered Gymnasium id, e.g. "salesenv/SalesLLM-zh-hard-v0"."""
        return f"{NAMESPACE}/{self.short}-{VERSION}"

    def with_variant(self, variant: str) -> EnvId:
        """The same language and difficulty in another variant."""
        return EnvId(self.language, self.difficulty, variant)

    @classmethod
    def parse(cls, text: str) -> EnvId:
        """Reads "SalesLLM-zh-hard", "SalesLLM-zh-hard-v0" or "salesenv/SalesLLM-zh-hard-v0".

        Raises:
            TypeError: If `text` is not a str.
            UnknownIdError: If it is not an id; the message suggests close matches.
        """
        if not isinstance(text, str):
            raise TypeError(f"env_id must be a str, got {type(text).__name__}")
        short = text.removeprefix(f"{NAMESPACE}/").removesuffix(f"-{VERSION}")
        found = _BY_SHORT.get(short)
        if found is None:
            close = difflib.get_close_matches(short, list(_BY_SHORT), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownIdError(
                f"Unknown salesenv id {text!r}.{hint} salesenv.list_envs() lists all "
                f"{len(_BY_SHORT)} ids."
            )
        return found


def all_env_ids(variants: tuple[str, ...] = VARIANTS) -> list[EnvId]:
    """Every env id of the given variants, variant by variant, zh before en."""
    return [
        EnvId(language, difficulty, variant)
        for variant in variants
        for language in LANGUAGES
        for difficulty in ENV_DIFFICULTIES
    ]


_BY_SHORT = {env_id.short: env_id for env_id in all_env_ids()}
