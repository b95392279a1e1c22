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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesenv.customers.replay import ReplayCase

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


# -- the released SalesLLM data set (MultiSense/SaleData) -------------------------------------

#: Row keys that may hold a dialogue's intent level (A/B/C/X/F): "A/B" is the key the public
#: scoring script writes; the others are common spellings.
SALEDATA_LABEL_KEYS = ("A/B", "intent_level", "intent", "label")


def saledata_dialogues(path: str | Path, **options) -> list[RealDialogue]:
    """The dialogues of a SaleData file (see `salesenv.scenarios.saledata.read_saledata`,
    which takes `options`: language, orientation, limit).

    Each row with a dialogue becomes a `RealDialogue`: split "all", label the row's intent
    level when it has one (a scored file's "A/B"), `extra` the row's other keys plus its
    "language", "system_prompt" and, when it holds a script, the "scenario".

    Raises:
        FileNotFoundError, SaleDataFormatError: As `read_saledata`.
    """
    from salesenv.scenarios.saledata import read_saledata

    out = []
    for record in read_saledata(path, **options).dialogues:
        label = next(
            (
                str(record.extra[k]).strip().upper()
                for k in SALEDATA_LABEL_KEYS
                if str(record.extra.get(k, "")).strip().upper() in ("A", "B", "C", "X", "F")
            ),
            None,
        )
        extra = {
            **record.extra,
            "language": record.language,
            "system_prompt": record.system_prompt,
            "scenario": record.scenario,
        }
        turns = tuple((t.role, t.text) for t in record.turns)
        out.append(RealDialogue(record.id, turns, label, "all", extra))
    return out


def saledata_replay_cases(path: str | Path, **options) -> list[ReplayCase]:
    """The rows of a SaleData file that hold both a script and a dialogue, as replay cases
    for a customer model (`salesenv.customers.replay.replay`, then the fidelity measures).

    The dialogue must open with the customer; rows without a script, or whose dialogue
    opens with the salesperson, are left out with one `SaleDataWarning` that counts them.

    Returns:
        `ReplayCase`s in file order.

    Raises:
        FileNotFoundError, SaleDataFormatError: As `read_saledata`.
    """
    import warnings

    from salesenv.customers.replay import ReplayCase
    from salesenv.scenarios.saledata import SaleDataWarning, read_saledata

    data = read_saledata(path, **options)
    cases, no_script, not_customer_first = [], 0, 0
    for record in data.dialogues:
        if record.scenario is None:
            no_script += 1
        elif record.turns[0].role != "customer":
            not_customer_first += 1
        else:
            cases.append(ReplayCase(record.id, record.scenario, record.turns))
    if no_script or not_customer_first:
        warnings.warn(
            f"{data.path.name}: {no_script} dialogues without a script and "
            f"{not_customer_first} opening with the salesperson are not replay cases; "
            "a replay needs the script's customer prompt and the customer's opening",
            SaleDataWarning,
            stacklevel=2,
        )
    return cases
