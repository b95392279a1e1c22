"""Reads the released SalesLLM data set (`MultiSense/SaleData`): scripts and/or dialogues.

The data set ships `salesllm_10k.parquet` and a raw JSONL (`raw/gen_conversations_dual_…
.jsonl`, generated conversations); its card does not spell out the columns, so this reader
detects what each record holds instead of assuming one schema:

- a **script** when the record has the public SalesLLM script keys (`user_system_prompt`,
  `assistant_system_prompt`, `trigger_sentence_zh` / `_en`, `id`): it becomes a `Scenario`
  by the same loader as the official benchmark files (`scenario_from_salesllm`);
- a **dialogue** when it has a list of messages under `messages` (or `conversation`,
  `conversations`, `dialogue`, `dialog`, `turns`; also as a JSON string, as parquet
  exports sometimes store it), each `{"role", "content"}` (or ShareGPT's `{"from",
  "value"}`, or `{"speaker", "text"}`). Two role conventions exist in the public code:
  the official runner's output (no system message; "user" = customer, "assistant" =
  salesperson, the trigger first) and the customer model's view (a leading "system"
  message with the customer prompt; "assistant" = customer, "user" = salesperson).
  `orientation="auto"` picks the second exactly when a system message leads;
- both, as in the official runner's output (the script keys plus `messages`).

A record with neither is skipped with a `SaleDataWarning` naming the row and its keys; a
file in which no record is usable raises `SaleDataFormatError`, which lists the keys of
its first record and the expected ones. The scripts make a suite (`saledata_suite`), the
dialogues a fidelity or scorer reference (`salesenv.realdata.saledata_dialogues` and
`saledata_replay_cases`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesenv.cues import cjk_share
from salesenv.dialogue import Turn
from salesenv.scenarios.salesllm import ScriptSkipped, scenario_from_salesllm
from salesenv.scenarios.scenario import LANGUAGES, Scenario
from salesenv.scenarios.suites import Suite

#: Keys that mark a public SalesLLM script.
SCRIPT_KEYS = ("user_system_prompt", "assistant_system_prompt")
#: Keys that may hold a dialogue's messages, in the order they are looked for.
MESSAGE_KEYS = ("messages", "conversation", "conversations", "dialogue", "dialog", "turns")
#: Keys of one message: (role key, text key) pairs, in the order they are looked for.
MESSAGE_FIELDS = (("role", "content"), ("from", "value"), ("speaker", "text"), ("role", "text"))
ORIENTATIONS = ("auto", "runner", "customer_model")

_CUSTOMER = {"customer", "buyer", "客户", "顾客", "用户"}
_SALESPERSON = {"salesperson", "seller", "sales", "agent", "销售", "销售员"}
_USER = {"user", "human"}
_ASSISTANT = {"assistant", "gpt", "bot", "model"}


class SaleDataFormatError(ValueError):
    """A SaleData file (or a row of it) is not in a schema the reader knows."""


class SaleDataWarning(UserWarning):
    """A row was skipped; the message names the row and the reason."""


@dataclass(frozen=True)
class SaleDataRecord:
    """One row of a SaleData file.

    Attributes:
        id: The row's `id` (or `conversation_id`), else "row-<n>".
        row: Its 1-based line (JSONL) or row (parquet) number.
        scenario: The script as a scenario, when the row holds one.
        turns: The dialogue, customer and salesperson turns in order (empty when the row
            holds only a script).
        system_prompt: A leading system message of the dialogue (the customer prompt in
            the customer model's view), if any.
        language: "zh" or "en": the script's, else the row's `language`, else from the
            text (CJK share).
        extra: The row's other keys (difficulty, category, status, scores, ...).
    """

    id: str
    row: int
    scenario: Scenario | None
    turns: tuple[Turn, ...]
    system_prompt: str | None
    language: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SaleData:
    """The usable rows of one file and what was skipped.

    Attributes:
        path: The file.
        records: The rows that hold a script or a dialogue, in file order.
        skipped: One line per skipped row: "row <n> (id ...): <reason>".
    """

    path: Path
    records: tuple[SaleDataRecord, ...]
    skipped: tuple[str, ...] = ()

    @property
    def scripts(self) -> list[Scenario]:
        """The rows' scenarios, in order (rows without a script left out)."""
        return [r.scenario for r in self.records if r.scenario is not None]

    @property
    def dialogues(self) -> list[SaleDataRecord]:
        """The rows with a dialogue."""
        return [r for r in self.records if r.turns]

    def suite(self, name: str | None = None) -> Suite:
        """The scripts as a suite (named after the file unless `name` is given).

        Raises:
            SaleDataFormatError: If no row holds a script.
        """
        if not self.scripts:
            raise SaleDataFormatError(
                f"{self.path} holds no script (rows with {' and '.join(SCRIPT_KEYS)}): its "
                f"{len(self.records)} usable rows are dialogues only; use its dialogues as a "
                "reference (salesenv.realdata.saledata_dialogues) instead of a suite"
            )
        return Suite(name or self.path.name.split(".")[0], tuple(self.scripts))


def read_saledata(
    path: str | os.PathLike[str],
    language: str | None = None,
    orientation: str = "auto",
    limit: int | None = None,
) -> SaleData:
    """Reads a SaleData file: `.parquet` (needs pyarrow) or JSONL (plain or `.gz`).

    Args:
        path: The file.
        language: "zh" or "en" to override every row's language (the official runner
            decides the language on its command line, not in the row).
        orientation: How to read message roles: "auto", "runner" (user = customer) or
            "customer_model" (assistant = customer); see the module docstring.
        limit: Stop after this many usable rows.

    Returns:
        The usable rows; rows that hold neither a script nor a dialogue are skipped with a
        `SaleDataWarning` each and listed in `SaleData.skipped`.

    Raises:
        FileNotFoundError: If the file is not there.
        SaleDataFormatError: If no row is usable; the message names the file, the keys of
            its first row and what the reader expects.
        ImportError: For a parquet file without pyarrow installed.
    """
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES} or None, got {language!r}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; pass the SaleData file (salesllm_10k.parquet or the raw "
            "JSONL of MultiSense/SaleData, downloaded beforehand)"
        )
    records: list[SaleDataRecord] = []
    skipped: list[str] = []
    first_keys: list[str] | None = None
    for number, row in _rows(path):
        if first_keys is None:
            first_keys = sorted(row) if isinstance(row, dict) else [type(row).__name__]
        ident = _ident(row, number)
        try:
            records.append(_record(row, number, ident, language, orientation))
        except (SaleDataFormatError, ScriptSkipped, ValueError, TypeError) as exc:
            reason = f"row {number} (id {ident}): {exc}"
            skipped.append(reason)
            warnings.warn(f"{path.name} {reason}; skipped", SaleDataWarning, stacklevel=2)
        if limit is not None and len(records) >= limit:
            break
    if not records:
        raise SaleDataFormatError(
            f"{path}: no usable row ({len(skipped)} skipped); its first row has the keys "
            f"{first_keys or []}. Expected the SalesLLM script keys ({', '.join(SCRIPT_KEYS)}, "
            f"trigger_sentence_zh/_en) and/or a message list under one of {list(MESSAGE_KEYS)} "
            "with role/content items; convert the file to one of these layouts"
        )
    return SaleData(path, tuple(records), tuple(skipped))


def saledata_suite(
    path: str | os.PathLike[str], language: str | None = None, name: str | None = None
) -> Suite:
    """The scripts of a SaleData file as a suite (see `read_saledata`, `SaleData.suite`)."""
    return read_saledata(path, language=language).suite(name)


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError(
                f"reading {path.name} needs pyarrow: `pip install pyarrow`, or read the raw "
                "JSONL of the data set instead"
            ) from exc
        for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield number, row
        return
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, SaleDataFormatError(f"not JSON ({exc.msg} at column {exc.colno})")


def _ident(row: Any, number: int) -> str:
    if isinstance(row, dict):
        for key in ("id", "conversation_id", "uuid"):
            if row.get(key) not in (None, ""):
                return str(row[key])
    return f"row-{number}"


def _record(
    row: Any, number: int, ident: str, language: str | None, orientation: str
) -> SaleDataRecord:
    if isinstance(row, Exception):
        raise row
    if not isinstance(row, dict):
        raise SaleDataFormatError(f"not a JSON object but {type(row).__name__}")
    messages_key = next((k for k in MESSAGE_KEYS if row.get(k) is not None), None)
    system, turns = (None, ())
    if messages_key is not None:
        system, turns = _turns(row[messages_key], messages_key, orientation)
    scenario = None
    if any(k in row for k in SCRIPT_KEYS):
        try:
            scenario = _scenario(row, language)
        except (ScriptSkipped, ValueError) as exc:
            if not turns:
                raise
            warnings.warn(
                f"row {number} (id {ident}): script unusable ({exc}); kept its dialogue only",
                SaleDataWarning,
                stacklevel=4,
            )
    if scenario is None and not turns:
        raise SaleDataFormatError(
            f"neither a script ({', '.join(SCRIPT_KEYS)}) nor a dialogue (a non-empty message "
            f"list under one of {list(MESSAGE_KEYS)}); its keys: {sorted(row)}"
        )
    if scenario is not None:
        lang = scenario.language
    else:
        lang = language or _declared(row) or _detect(" ".join(t.text for t in turns))
    used = {*SCRIPT_KEYS, "trigger_sentence_zh", "trigger_sentence_en", "id", messages_key}
    extra = {k: v for k, v in row.items() if k not in used}
    return SaleDataRecord(ident, number, scenario, tuple(turns), system, lang, extra)


def _scenario(row: dict[str, Any], language: str | None) -> Scenario:
    # An explicit language beats the row's (the official runner decides it on its command
    # line); without one the loader reads it from the text.
    return scenario_from_salesllm(row, language=language)


def _turns(value: Any, key: str, orientation: str) -> tuple[str | None, tuple[Turn, ...]]:
    """(system prompt, turns) from a message list, in the given role orientation."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SaleDataFormatError(
                f"{key!r} is a string but not a JSON list ({exc.msg})"
            ) from None
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise SaleDataFormatError(f"{key!r} is not a list of messages")
    pairs = [_message(m, key, i) for i, m in enumerate(value)]
    system = None
    if pairs and pairs[0][0] == "system":
        system = pairs.pop(0)[1]
    flipped = orientation == "customer_model" or (orientation == "auto" and system is not None)
    turns = []
    for index, (role, text) in enumerate(pairs):
        if role == "system":
            raise SaleDataFormatError(f"{key}[{index}] is a system message after the first")
        if role in _CUSTOMER:
            mapped = "customer"
        elif role in _SALESPERSON:
            mapped = "salesperson"
        elif role in _USER:
            mapped = "salesperson" if flipped else "customer"
        elif role in _ASSISTANT:
            mapped = "customer" if flipped else "salesperson"
        else:
            raise SaleDataFormatError(f"{key}[{index}] has an unknown role {role!r}")
        if text.strip():
            turns.append(Turn(mapped, text))
    return system, tuple(turns)


def _message(message: Any, key: str, index: int) -> tuple[str, str]:
    if isinstance(message, dict):
        for role_key, text_key in MESSAGE_FIELDS:
            if role_key in message and text_key in message:
                role, text = message[role_key], message[text_key]
                if isinstance(role, str) and isinstance(text, str):
                    return role.strip().lower(), text
    raise SaleDataFormatError(
        f"{key}[{index}] is not a message with role/content (or from/value): {message!r:.80}"
    )


def _declared(row: dict[str, Any]) -> str | None:
    declared = str(row.get("language") or "").strip().lower()
    if declared in ("zh", "cn", "chinese", "zh-cn", "中文"):
        return "zh"
    if declared in ("en", "english", "en-us"):
        return "en"
    return None


def _detect(text: str) -> str:
    return "zh" if cjk_share(text) >= 0.3 else "en"
