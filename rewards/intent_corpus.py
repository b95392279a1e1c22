"""The project's hand-written intent corpus (package data) and its fixed train/test split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from salesenv.rewards.intent import INTENT_LEVELS

#: Every fifth dialogue of each (language, level) is held out for testing.
HELDOUT_EVERY = 5


@dataclass(frozen=True)
class LabelledDialogue:
    """A dialogue ending with a known intent level.

    Attributes:
        id: Stable id, e.g. "hw-en-A-036".
        language: "zh" or "en".
        level: The customer's intent level at the end (A/B/C/X/F).
        turns: (role, text) pairs, role "customer" or "salesperson".
        source: Where it comes from ("handwritten", "simulator", "craigslist-dev").
    """

    id: str
    language: str
    level: str
    turns: tuple[tuple[str, str], ...]
    source: str


def handwritten(split: str) -> list[LabelledDialogue]:
    """The hand-written dialogue endings: "train", "test" (every fifth) or "all".

    600 short dialogues written for this project (60 per language and level, invented
    brands, many domains, none about donations or charities); see
    `rewards/data/intent_corpus/README.md`.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    path = resources.files("salesenv.rewards") / "data" / "intent_corpus" / "handwritten.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["level"] not in INTENT_LEVELS:
            raise ValueError(f"{row['id']}: unknown level {row['level']!r}")
        heldout = int(row["id"].rsplit("-", 1)[1]) % HELDOUT_EVERY == 0
        if split == "all" or heldout == (split == "test"):
            turns = tuple((t["role"], t["text"]) for t in row["turns"])
            out.append(
                LabelledDialogue(row["id"], row["language"], row["level"], turns, "handwritten")
            )
    return out


def closings(language: str) -> list[tuple[tuple[str, str], ...]]:
    """Closing exchanges (salesperson thanks, customer pleasantry) written for this project.

    Real conversations rarely end on the decision: "I'll take it" is followed by "thanks,
    bye". Appending one of these to dialogues that end in A, B or C teaches the scorer to
    look past the pleasantries (see `with_closing`).
    """
    path = resources.files("salesenv.rewards") / "data" / "intent_corpus" / "closings.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [tuple((r, t) for r, t in row["turns"]) for row in rows if row["language"] == language]


def with_closing(dialogue: LabelledDialogue, index: int) -> LabelledDialogue:
    """A copy of `dialogue` with closing exchange number `index` (modulo) appended."""
    options = closings(dialogue.language)
    closing = options[index % len(options)]
    return LabelledDialogue(
        f"{dialogue.id}+closing{index % len(options)}",
        dialogue.language,
        dialogue.level,
        dialogue.turns + closing,
        dialogue.source,
    )


def seller_claims(language: str) -> list[str]:
    """Salesperson lines that claim a sale, written for this project (`seller_claims.jsonl`)."""
    path = resources.files("salesenv.rewards") / "data" / "intent_corpus" / "seller_claims.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row["text"] for row in rows if row["language"] == language]


def with_seller_claim(dialogue: LabelledDialogue, index: int) -> LabelledDialogue:
    """A copy of `dialogue` whose last salesperson turn before the customer's last turn is a
    claim of the sale (number `index`, modulo); the customer's answer keeps its level, so
    the salesperson's words alone must not move the scorer."""
    options = seller_claims(dialogue.language)
    claim = options[index % len(options)]
    turns = dialogue.turns
    before = turns[:-2] if len(turns) >= 2 and turns[-2][0] == "salesperson" else turns[:-1]
    new = (*before, ("salesperson", claim), turns[-1])
    return LabelledDialogue(
        f"{dialogue.id}+claim{index % len(options)}",
        dialogue.language,
        dialogue.level,
        new,
        dialogue.source,
    )
