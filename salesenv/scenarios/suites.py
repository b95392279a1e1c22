"""Scenario suites: fixed, content-hashed lists of scenarios, their files and loaders."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from salesenv.files import write_atomic
from salesenv.scenarios.salesllm import ScriptReading, ScriptSkipped, read_salesllm
from salesenv.scenarios.sampler import DIFFICULTY_MIX, ScenarioSampler
from salesenv.scenarios.scenario import DIFFICULTIES, Scenario

#: The benchmark suite: 1,000 Chinese + 805 English scenarios, as in the paper.
SALESLLM_1805 = "salesllm-1805"
SUITE_SIZES = {SALESLLM_1805: {"zh": 1000, "en": 805}}
SUITE_SEED = 1805


class SuiteFormatWarning(UserWarning):
    """A line of a suite file was skipped; the message names the line and the reason."""


class SuiteSummaryWarning(SuiteFormatWarning):
    """One per public SalesLLM file: what the loader decided for many lines at once (a
    declared language the prompts contradict, product information it could not read,
    lines skipped or repaired), with the counts and what to do."""


@dataclass(frozen=True)
class Suite(Sequence[Scenario]):
    """A named, fixed list of scenarios with a content hash over their ids."""

    name: str
    scenarios: tuple[Scenario, ...]

    def __len__(self) -> int:
        return len(self.scenarios)

    def __getitem__(self, index):  # type: ignore[override]
        return self.scenarios[index]

    def __iter__(self) -> Iterator[Scenario]:
        return iter(self.scenarios)

    @property
    def content_hash(self) -> str:
        """16 hex digits of SHA-256 over the scenario ids in order."""
        digest = hashlib.sha256("\n".join(s.id for s in self.scenarios).encode()).hexdigest()
        return digest[:16]

    def filter(self, language: str | None = None, difficulty: str | None = None) -> Suite:
        """The sub-suite of one language and/or difficulty."""
        kept = tuple(
            s
            for s in self.scenarios
            if (language is None or s.language == language)
            and (difficulty is None or s.difficulty == difficulty)
        )
        parts = [p for p in (language, difficulty) if p]
        return Suite(f"{self.name}[{','.join(parts)}]" if parts else self.name, kept)


def difficulty_counts(total: int, mix: Mapping[str, float] = DIFFICULTY_MIX) -> dict[str, int]:
    """Splits `total` over the difficulties by `mix`, exactly (largest remainder)."""
    shares = {d: total * mix.get(d, 0.0) / sum(mix.values()) for d in DIFFICULTIES}
    counts = {d: int(v) for d, v in shares.items()}
    for d in sorted(shares, key=lambda d: shares[d] - counts[d], reverse=True)[
        : total - sum(counts.values())
    ]:
        counts[d] += 1
    return counts


def build_suite(name: str = SALESLLM_1805, seed: int = SUITE_SEED) -> Suite:
    """Materialises a built-in suite from the sampler, deterministically.

    Each (language, difficulty) cell gets its exact count of distinct scenarios.
    """
    if name not in SUITE_SIZES:
        raise KeyError(f"unknown built-in suite {name!r}; known: {sorted(SUITE_SIZES)}")
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for offset, (language, total) in enumerate(SUITE_SIZES[name].items()):
        rng = np.random.default_rng([seed, offset])
        sampler = ScenarioSampler(language)
        for difficulty, count in difficulty_counts(total).items():
            made = 0
            while made < count:
                scenario = sampler.sample(rng, difficulty=difficulty)
                if scenario.id not in seen:
                    seen.add(scenario.id)
                    scenarios.append(scenario)
                    made += 1
    return Suite(name, tuple(scenarios))


def builtin_suite_path(name: str) -> Path:
    """Where the shipped file of a built-in suite lives."""
    return Path(str(resources.files("salesenv.scenarios") / "data" / "suites" / f"{name}.jsonl.gz"))


def load_suite(path_or_name: str | os.PathLike[str], language: str | None = None) -> Suite:
    """Loads a suite by built-in name ("salesllm-1805") or from a JSONL file.

    Files may be plain or gzipped JSONL, in salesenv's own format (`Scenario.to_dict`) or
    the public SalesLLM format (keys `user_system_prompt`, `assistant_system_prompt`, ...;
    see `salesenv.scenarios.salesllm`). Lines that cannot be used are skipped with a
    `SuiteFormatWarning` naming the line, the record's id and the reason; the other lines
    still load. A public file also gets one `SuiteSummaryWarning` when the loader overrode
    the declared language of some lines, could not read their product information, or
    skipped or repaired lines.

    Args:
        path_or_name: A built-in suite name or a file path; a `.parquet` file is read as
            the released SaleData table (`salesenv.scenarios.saledata`), its scripts.
        language: "zh" or "en": every public SalesLLM line of the file is read in that
            language (as the official runner's command line decides), whatever the row
            says or the text suggests. For a built-in suite it keeps that language only.

    Raises:
        FileNotFoundError: If the name is not a built-in suite and no such file exists.
        ValueError: If the file holds no usable scenario, or `language` is not zh/en.
    """
    name = os.fspath(path_or_name)
    if language is not None and language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', got {language!r}")
    if name in SUITE_SIZES:
        suite = Suite(name, tuple(_read_jsonl(builtin_suite_path(name))))
        return suite.filter(language=language) if language else suite
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no suite named {name!r}: not a built-in suite ({', '.join(SUITE_SIZES)}) "
            "and no such file"
        )
    if path.suffix == ".parquet":  # SaleData's table of scripts (and dialogues)
        from salesenv.scenarios.saledata import saledata_suite

        return saledata_suite(path, language=language, name=path.name.split(".")[0])
    scenarios = tuple(_read_jsonl(path, language))
    if not scenarios:
        raise ValueError(f"{path} holds no usable scenario (see the warnings for each line)")
    return Suite(path.name.split(".")[0], scenarios)


def _read_jsonl(path: Path, language: str | None = None) -> Iterator[Scenario]:
    opener = gzip.open if path.suffix == ".gz" else open
    tally = _PublicTally(path.name)
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = None
            try:
                record = json.loads(line)
                if isinstance(record, dict) and "user_system_prompt" in record:
                    tally.public += 1
                    tally.skipped_public.append(number)  # until it loads
                    reading = read_salesllm(record, language)
                    tally.skipped_public.pop()
                    tally.add(number, reading)
                    if reading.repaired:
                        warnings.warn(
                            f"{path.name} line {number} (id {record.get('id')}): repaired: "
                            f"{reading.repaired}",
                            SuiteFormatWarning,
                            stacklevel=3,
                        )
                    yield reading.scenario
                elif isinstance(record, dict):
                    yield Scenario.from_dict(record)
                else:
                    raise ScriptSkipped("the line is not a JSON object")
            except (ValueError, TypeError, KeyError) as exc:
                ident = record.get("id") if isinstance(record, dict) else None
                if not isinstance(record, dict) or "user_system_prompt" in record:
                    tally.skipped.append(number)
                warnings.warn(
                    f"{path.name} line {number}{f' (id {ident})' if ident is not None else ''}: "
                    f"skipped: {exc}",
                    SuiteFormatWarning,
                    stacklevel=3,
                )
    summary = tally.summary()
    if summary:
        warnings.warn(summary, SuiteSummaryWarning, stacklevel=3)


@dataclass
class _PublicTally:
    """Counts, over one file, what the public-script reader decided (for one summary)."""

    file: str
    public: int = 0
    relabelled: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    reasons: set[str] = field(default_factory=set)
    unknown_layout: list[int] = field(default_factory=list)
    repaired: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    skipped_public: list[int] = field(default_factory=list)

    def add(self, number: int, reading: ScriptReading) -> None:
        verdict = reading.language
        if verdict.contradicts_row and verdict.reason != "forced":
            self.relabelled.setdefault((verdict.declared, verdict.language), []).append(number)
            self.reasons.add(re.sub(r" [\d.]+$", "", verdict.reason))
        if reading.product_layout == "unknown":
            self.unknown_layout.append(number)
        if reading.repaired:
            self.repaired.append(number)

    def summary(self) -> str:
        parts = []
        names = {"zh": "Chinese", "en": "English"}
        for (declared, decided), lines in sorted(self.relabelled.items()):
            loaded = self.public - len(self.skipped_public)
            parts.append(
                f"{len(lines)} of the {loaded} loaded lines declare language {declared!r} but their "
                f"prompts are {names[decided]} ({', '.join(sorted(self.reasons))}): loaded as "
                f"{decided!r}; pass load_suite(path, language=...) or `salesenv eval "
                "--suite-language` to force one language"
            )
        if self.unknown_layout:
            parts.append(
                f"{len(self.unknown_layout)} lines ({_lines(self.unknown_layout)}) hold product "
                "information in a layout this loader does not read: they load prompts-only, so "
                "scripted agents and the persona customer get no product facts; write it as "
                "'Product Name: / Product Description: / Details:' lines, a marketplace listing "
                "(title / description / details) or a JSON object of paragraphs"
            )
        if self.repaired:
            parts.append(f"{len(self.repaired)} lines repaired ({_lines(self.repaired)})")
        if self.skipped:
            parts.append(
                f"{len(self.skipped)} lines skipped ({_lines(self.skipped)}; see their warnings)"
            )
        if not self.public:
            return ""
        return f"{self.file}: " + "; ".join(parts) if parts else ""


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:8])
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{', ...' if len(numbers) > 8 else ''}"


def write_suite(path: str | os.PathLike[str], scenarios: Sequence[Scenario]) -> Path:
    """Writes scenarios as JSONL (gzipped when the name ends in .gz), atomically."""
    path = Path(path)
    data = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in scenarios).encode()
    if path.suffix == ".gz":
        buffer = io.BytesIO()
        # mtime=0 keeps the file byte-identical across rebuilds.
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
            handle.write(data)
        data = buffer.getvalue()
    return write_atomic(path, data)
