"""Readers for real human dialogues with known outcomes, for checking scorers and simulators.

salesenv never ships these data sets; point the readers at a copy (the project keeps one
in `../shared/realdata`, see its README). Turns come back as (role, text) pairs with the
buyer or persuadee as "customer" and the seller or persuader as "salesperson"; the
structured offer/accept/reject/quit events are dropped because they give the outcome away.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Where the project keeps the data: `$SALESENV_REALDATA`, else `../shared/realdata`
#: next to the repository.
DEFAULT_ROOT = Path(
    os.environ.get("SALESENV_REALDATA", Path(__file__).resolve().parents[2] / "shared" / "realdata")
)
CB_FILE = "craigslistbargain/cb_dialogues.jsonl"
P4G_FILE = "persuasionforgood/p4g_dialogues.jsonl"
CB_EXTRA_FIELDS = (
    "deal",
    "final_price",
    "list_price",
    "buyer_target",
    "item_title",
    "item_description",
    "category",
)


class RealDataMissingError(FileNotFoundError):
    """The real-data files are not where they were looked for.

    Args:
        message: What is missing and what to do.
        path: The file that was looked for.
    """

    def __init__(self, message: str, path: str | Path) -> None:
        super().__init__(message)
        self.path = Path(path)

    def hint(self, option: str) -> str:
        """One line for a script's user: the missing file and how to point the script at
        the data folder with `option` (e.g. "--realdata") or `$SALESENV_REALDATA`."""
        return (
            f"{self.path} not found: pass {option} DIR, the folder that holds {CB_FILE} and "
            f"{P4G_FILE} (the project's copy is ../shared/realdata), or set SALESENV_REALDATA"
        )


@dataclass(frozen=True)
class RealDialogue:
    """One human dialogue with its outcome.

    Attributes:
        id: The source's dialogue id.
        turns: (role, text) pairs, role "customer" or "salesperson".
        label: The outcome label (CraigslistBargain's `suggested_label`, or for
            PersuasionForGood the persuadee's stated intention).
        split: "dev" or "test" for CraigslistBargain; "all" for PersuasionForGood.
        extra: Other fields: the outcome (deal, prices, donations) and, for
            CraigslistBargain, the listing.
    """

    id: str
    turns: tuple[tuple[str, str], ...]
    label: str | None
    split: str
    extra: dict = field(default_factory=dict)


class RealDataFormatError(ValueError):
    """A line of a real-data file is not a record of that data set."""


def _lines(path: Path, name: str) -> Iterator[tuple[int, dict]]:
    """(line number, record) pairs of a JSONL file; `name` is what the file should be."""
    if not path.is_file():
        raise RealDataMissingError(
            f"{path} not found; pass the folder that holds {name} (the project's copy is "
            "../shared/realdata) or set SALESENV_REALDATA",
            path,
        )
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RealDataFormatError(f"{path}:{number}: not JSON ({exc})") from exc


def craigslist(split: str, root: str | Path | None = None) -> list[RealDialogue]:
    """CraigslistBargain dialogues of one split ("dev" for tuning, "test" for reporting).

    The label is the source's `suggested_label`: buy, not_buy, not_buy_seller_refused,
    brush_off, no_deal_seller_quit or unknown (abandoned chats).
    """
    if split not in ("dev", "test"):
        raise ValueError(f"split must be 'dev' or 'test', got {split!r}")
    return read_craigslist(Path(root or DEFAULT_ROOT) / CB_FILE, split)


def read_craigslist(path: str | Path, split: str = "all") -> list[RealDialogue]:
    """CraigslistBargain dialogues from a `cb_dialogues.jsonl` file anywhere.

    Args:
        path: The file.
        split: "dev", "test" or "all".

    Returns:
        The dialogues in file order; `extra` holds the deal, the prices and the listing
        (`item_title`, `item_description`, `category`).

    Raises:
        RealDataMissingError: If the file is not there.
        RealDataFormatError: If a line is not a CraigslistBargain dialogue record (the
            message gives the line number).
    """
    if split not in ("dev", "test", "all"):
        raise ValueError(f"split must be 'dev', 'test' or 'all', got {split!r}")
    path = Path(path)
    out = []
    for number, row in _lines(path, CB_FILE):
        try:
            if split != "all" and row["split_in_source"] != split:
                continue
            turns = tuple(
                ("customer" if t["role"] == "buyer" else "salesperson", t["text"])
                for t in row["turns"]
                if "text" in t
            )
            extra = {k: row.get(k) for k in CB_EXTRA_FIELDS}
            dialogue = RealDialogue(
                row["id"], turns, row["suggested_label"], row["split_in_source"], extra
            )
        except (KeyError, TypeError) as exc:
            raise RealDataFormatError(
                f"{path}:{number}: not a CraigslistBargain dialogue record ({exc!r})"
            ) from exc
        out.append(dialogue)
    return out


def persuasion(root: str | Path | None = None, annotated_only: bool = True) -> list[RealDialogue]:
    """PersuasionForGood dialogues (the persuadee is the customer).

    The label is "said_will_donate" when the annotators found a donation amount stated in
    the chat, else "not_said" (a stated no or no amount); `extra` holds the actual
    donation made afterwards. Only the 300 annotated dialogues have the stated intention.
    """
    out = []
    for _, row in _lines(Path(root or DEFAULT_ROOT) / P4G_FILE, P4G_FILE):
        if annotated_only and not row["annotated_300"]:
            continue
        turns = tuple(
            ("customer" if t["role"] == "persuadee" else "salesperson", t["text"])
            for t in row["turns"]
        )
        label = None
        if row["annotated_300"]:
            said = row["label_intended"] == "said_will_donate"
            label = "said_will_donate" if said else "not_said"
        extra = {
            "donated": row["label_actual"] == "donated",
            "actual_donation": row["persuadee_actual_donation"],
            "intended_donation": row["persuadee_intended_donation_in_dialogue"],
        }
        out.append(RealDialogue(row["id"], turns, label, "all", extra))
    return out
