"""Scenario suites: fixed, content-hashed lists of scenarios, their files and loaders."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from salesenv.files import write_atomic
from salesenv.scenarios.salesllm import ScriptSkipped, scenario_from_salesllm
from salesenv.scenarios.sampler import DIFFICULTY_MIX, ScenarioSampler
from salesenv.scenarios.scenario import DIFFICULTIES, Scenario

#: The benchmark suite: 1,000 Chinese + 805 English scenarios, as in the paper.
SALESLLM_1805 = "salesllm-1805"
SUITE_SIZES = {SALESLLM_1805: {"zh": 1000, "en": 805}}
SUITE_SEED = 1805


class SuiteFormatWarning(UserWarning):
    """A line of a suite file was skipped; the message names the line and the reason."""


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


def load_suite(path_or_name: str | os.PathLike[str]) -> Suite:
    """Loads a suite by built-in name ("salesllm-1805") or from a JSONL file.

    Files may be plain or gzipped JSONL, in salesenv's own format (`Scenario.to_dict`) or
    the public SalesLLM format (keys `user_system_prompt`, `assistant_system_prompt`, ...).
    Lines that cannot be used are skipped with a `SuiteFormatWarning` naming the line, the
    record's id and the reason; the other lines still load.

    Raises:
        FileNotFoundError: If the name is not a built-in suite and no such file exists.
        ValueError: If the file holds no usable scenario.
    """
    name = os.fspath(path_or_name)
    if name in SUITE_SIZES:
        return Suite(name, tuple(_read_jsonl(builtin_suite_path(name))))
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no suite named {name!r}: not a built-in suite ({', '.join(SUITE_SIZES)}) "
            "and no such file"
        )
    scenarios = tuple(_read_jsonl(path))
    if not scenarios:
        raise ValueError(f"{path} holds no usable scenario (see the warnings for each line)")
    return Suite(path.name.split(".")[0], scenarios)


def _read_jsonl(path: Path) -> Iterator[Scenario]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = None
            try:
                record = json.loads(line)
                if isinstance(record, dict) and "user_system_prompt" in record:
                    yield scenario_from_salesllm(record)
                elif isinstance(record, dict):
                    yield Scenario.from_dict(record)
                else:
                    raise ScriptSkipped("the line is not a JSON object")
            except (ValueError, TypeError, KeyError) as exc:
                ident = record.get("id") if isinstance(record, dict) else None
                warnings.warn(
                    f"{path.name} line {number}{f' (id {ident})' if ident is not None else ''}: "
                    f"skipped: {exc}",
                    SuiteFormatWarning,
                    stacklevel=3,
                )


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
