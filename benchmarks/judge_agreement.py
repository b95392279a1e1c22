"""How well the offline rubric judge agrees with an LLM judge, and the LLM judge with itself.

    python benchmarks/judge_agreement.py [--episodes N] [--backend transformers|vllm|openai]
        [--model PATH_OR_NAME] [--base-url URL] [--dialogues FILE.jsonl] [--out FILE.json]

Plays a seeded sample of finished dialogues of varied quality on the persona customer (the
scripted, passive and random agents x both languages x all difficulties x `--episodes`
seeds), optionally adds dialogues from a JSONL file, and scores every dialogue with
`RubricJudge` and with `LLMJudge` on the chosen chat backend (default: the tiny
SmolLM2-135M-Instruct model on CPU via transformers). The LLM judge scores the sample twice,
with two seed streams, so that its agreement with itself (an upper bound on how well any
other judge can agree with it) is printed next to its agreement with the rubric judge.

The tables give, overall and per language and per agent: n, Pearson r, Spearman rho,
Kendall tau-b (each with a percentile-bootstrap 95% interval), the mean absolute difference,
the mean of each judge, and the LLM judge's retries, clamped answers and fallbacks.
Correlations are computed on dialogues the LLM judge actually scored: a dialogue whose
answer never parsed is scored by the rubric judge inside `LLMJudge` (its fallback), which
would count as perfect agreement, so such dialogues are counted in "fallback" and left out;
the row "all, fallbacks as scored" keeps them. A correlation is NaN (with a note) when one
judge gives every dialogue of a group the same score.

JSONL input, one dialogue a line: {"scenario": <Scenario.to_dict()>, "turns": [{"role":
"customer"|"salesperson", "text": ...}, ...], "decision": "buy"|"maybe"|"no"|"brush_off"|
"hostile"|null, "agent": optional label}. `--save-dialogues` writes the sample in that form.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import salesenv
from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.agents.base import SalesAgent
from salesenv.customers.base import CustomerBackendError
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.evaluation import run_episode
from salesenv.files import nan_to_none, write_atomic
from salesenv.ids import EnvId, id_spelling, parse_difficulty
from salesenv.rewards.agreement import CORRELATIONS, agreement, format_estimate, format_number
from salesenv.rewards.judge import Judge, JudgeResult, RubricJudge
from salesenv.rewards.llm_graders import LLMJudge, SeedShiftedBackend, TextGenerator
from salesenv.scenarios.scenario import DIFFICULTIES as PROFILES
from salesenv.scenarios.scenario import Scenario

LANGUAGES = ("zh", "en")
#: Difficulties as spelled in env ids ("veryhard").
DIFFICULTIES = tuple(id_spelling(d) for d in PROFILES)
#: Added to every seed of the reference LLM judge, so that it samples anew.
REFERENCE_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class Sample:
    """One finished dialogue and where it came from."""

    id: str
    agent: str
    language: str
    difficulty: str
    dialogue: Dialogue


@dataclass
class Scored:
    """A sample's scores: the rubric judge's and one or more LLM judges' results."""

    sample: Sample
    rubric: int
    llm: dict[str, JudgeResult] = field(default_factory=dict)


# --------------------------------------------------------------------------- the sample


def default_agents() -> list[SalesAgent]:
    """The baseline salespeople, from competent to noise."""
    return [ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent()]


def generate_sample(
    episodes: int,
    languages: Sequence[str] = LANGUAGES,
    difficulties: Sequence[str] = DIFFICULTIES,
    agents: Sequence[SalesAgent] | None = None,
    first_seed: int = 0,
) -> list[Sample]:
    """Plays seeded episodes on the persona customer and returns the finished dialogues.

    Args:
        episodes: Episodes per (language, difficulty, agent) cell; episode i uses seed
            `first_seed + i`, so the sample is reproducible.
        languages: Scenario languages.
        difficulties: Difficulty profiles (registry spelling, e.g. "veryhard").
        agents: Salespeople (default: `default_agents()`).
        first_seed: The seed of each cell's first episode.

    Returns:
        One `Sample` per episode, in cell order.
    """
    agents = list(agents) if agents is not None else default_agents()
    samples = []
    for language in languages:
        for difficulty in difficulties:
            env = salesenv.make(EnvId(language, parse_difficulty(difficulty)).short)
            for agent in agents:
                for seed in range(first_seed, first_seed + episodes):
                    record = run_episode(env, agent, seed=seed)
                    scenario = env.unwrapped.scenario
                    turns = tuple(Turn(t["role"], t["text"]) for t in record.transcript)
                    decision = Decision(record.decision) if record.decision else None
                    samples.append(
                        Sample(
                            id=f"{language}-{difficulty}-{agent.name}-{seed}",
                            agent=agent.name,
                            language=language,
                            difficulty=scenario.difficulty,
                            dialogue=Dialogue(scenario, turns, decision),
                        )
                    )
            env.close()
    return samples


def sample_to_dict(sample: Sample) -> dict[str, Any]:
    """A JSON-ready dict in the JSONL input format (see the module docstring)."""
    d = sample.dialogue
    return {
        "id": sample.id,
        "agent": sample.agent,
        "scenario": d.scenario.to_dict(),
        "turns": [{"role": t.role, "text": t.text} for t in d.turns],
        "decision": d.decision.value if d.decision else None,
    }


def sample_from_dict(data: dict[str, Any], default_id: str = "") -> Sample:
    """The inverse of `sample_to_dict`; "id" and "agent" are optional.

    Raises:
        ValueError: If a turn's role or the decision is not one of the known values.
    """
    scenario = Scenario.from_dict(data["scenario"])
    turns = []
    for turn in data["turns"]:
        if turn["role"] not in ("customer", "salesperson"):
            raise ValueError(f"turn role must be 'customer' or 'salesperson', got {turn['role']!r}")
        turns.append(Turn(turn["role"], turn["text"]))
    decision = Decision(data["decision"]) if data.get("decision") else None
    return Sample(
        id=str(data.get("id") or default_id),
        agent=str(data.get("agent") or "file"),
        language=scenario.language,
        difficulty=scenario.difficulty,
        dialogue=Dialogue(scenario, tuple(turns), decision),
    )


def load_samples(path: str | os.PathLike[str]) -> list[Sample]:
    """Dialogues from a JSONL file (blank lines skipped).

    Raises:
        ValueError: If a line is not valid; the message names the file and line.
    """
    samples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                samples.append(sample_from_dict(json.loads(line), default_id=f"file-{number}"))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: not a dialogue record ({exc!r})") from exc
    return samples


# --------------------------------------------------------------------------- scoring


def judge_in_batches(
    judge: Judge,
    dialogues: Sequence[Dialogue],
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> list[JudgeResult]:
    """`judge.judge_batch` over consecutive batches, reporting progress after each.

    Args:
        judge: Any judge.
        dialogues: The dialogues, in order.
        batch_size: Dialogues per `judge_batch` call.
        progress: Called with the number of dialogues just scored.
    """
    results: list[JudgeResult] = []
    for start in range(0, len(dialogues), batch_size):
        chunk = dialogues[start : start + batch_size]
        results.extend(judge.judge_batch(chunk))
        if progress is not None:
            progress(len(chunk))
    return results


def score_samples(
    samples: Sequence[Sample],
    llm_judges: dict[str, Judge],
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> list[Scored]:
    """Scores every sample with the rubric judge and each LLM judge.

    Dialogues go to the LLM judges shortest first, so that each batch pads little; the
    results come back in the order of `samples`.

    Args:
        samples: The dialogues.
        llm_judges: Named LLM judges (e.g. {"llm": ..., "llm_ref": ...}).
        batch_size: Dialogues per `judge_batch` call.
        progress: Called with the number of dialogues just scored by an LLM judge.
    """
    dialogues = [s.dialogue for s in samples]
    rubric = RubricJudge().judge_batch(dialogues)
    scored = [Scored(s, r.score) for s, r in zip(samples, rubric, strict=True)]
    order = sorted(range(len(samples)), key=lambda i: _length(dialogues[i]))
    for name, judge in llm_judges.items():
        results = judge_in_batches(judge, [dialogues[i] for i in order], batch_size, progress)
        for i, result in zip(order, results, strict=True):
            scored[i].llm[name] = result
    return scored


def _length(dialogue: Dialogue) -> int:
    return sum(len(t.text) for t in dialogue.turns)


# --------------------------------------------------------------------------- tables


def _flag_counts(results: Iterable[JudgeResult]) -> dict[str, int]:
    results = list(results)
    return {
        "retried": sum(r.features.get("tries", 1.0) > 1 for r in results),
        "clamped": sum(bool(r.features.get("clamped")) for r in results),
        "fallback": sum(bool(r.features.get("fallback")) for r in results),
    }


def _parsed(result: JudgeResult) -> bool:
    return not result.features.get("fallback")


def agreement_rows(
    scored: Sequence[Scored],
    first: str,
    second: str,
    by: Sequence[str] = ("language", "agent"),
    resamples: int = 1000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Agreement rows (overall, then per value of each key in `by`) of two judges.

    `first` and `second` name judges: "rubric" or a key of `Scored.llm`. Dialogues an LLM
    judge fell back on are left out (and counted); the first row, "all, fallbacks as
    scored", keeps them, as `LLMJudge` reports them.
    """

    def score(item: Scored, name: str) -> int:
        return item.rubric if name == "rubric" else item.llm[name].score

    def parsed(item: Scored) -> bool:
        return all(_parsed(item.llm[n]) for n in (first, second) if n != "rubric")

    llm_names = [n for n in (first, second) if n != "rubric"]

    def row(group: str, items: Sequence[Scored], keep_fallbacks: bool = False) -> dict[str, Any]:
        kept = list(items) if keep_fallbacks else [s for s in items if parsed(s)]
        stats = agreement(
            [score(s, first) for s in kept], [score(s, second) for s in kept], resamples, seed
        )
        flags = {"retried": 0, "clamped": 0, "fallback": 0}
        for name in llm_names:
            for key, value in _flag_counts(s.llm[name] for s in items).items():
                flags[key] += value
        return {"group": group, "dialogues": len(items), **stats, **flags}

    rows = [row("all, fallbacks as scored", scored, keep_fallbacks=True), row("all", scored)]
    for key in by:
        for value in sorted({getattr(s.sample, key) for s in scored}):
            rows.append(
                row(f"{key}={value}", [s for s in scored if getattr(s.sample, key) == value])
            )
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of `agreement_rows`."""
    header = (
        "| group | n | Pearson r [95% CI] | Spearman rho [95% CI] | Kendall tau [95% CI] "
        "| MAD | mean 1 | mean 2 | retried | clamped | fallback |"
    )
    lines = [header, "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"]
    notes = []
    for r in rows:
        cells = [
            r["group"],
            str(r["n"]),
            *(format_estimate(r[name], r[f"{name}_ci"]) for name in CORRELATIONS),
            format_number(r["mad"]),
            format_number(r["mean_x"]),
            format_number(r["mean_y"]),
            str(r["retried"]),
            str(r["clamped"]),
            str(r["fallback"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if r["note"]:
            notes.append(f"- {r['group']}: {r['note']}")
    return "\n".join(lines + (["", *notes] if notes else []))


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Writes JSON to a temporary file beside `path`, then renames it over `path`."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
    write_atomic(path, text + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------- entry point


def make_backend(args: argparse.Namespace) -> tuple[TextGenerator, str]:
    """The chat backend named by the command line, and the model's name.

    Raises:
        ValueError, ImportError, CustomerBackendError: If the backend cannot be built (the
            message says why; e.g. `ModelNotFoundError` for a wrong model path).
    """
    from salesenv.customers.chat import SamplingConfig
    from salesenv.customers.choice import build_chat_backend

    sampling = SamplingConfig(
        temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens
    )
    backend = build_chat_backend(
        args.backend, args.model, sampling=sampling, device=args.device, batch_size=args.batch_size
    )
    backend.role = "grader"  # named in its errors; SeedShiftedBackend hides it from LLMJudge
    return backend, backend.describe()["model"]


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=2, help="episodes per cell")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES), choices=LANGUAGES)
    parser.add_argument(
        "--difficulties", nargs="+", default=list(DIFFICULTIES), choices=DIFFICULTIES
    )
    parser.add_argument("--dialogues", help="also score the dialogues of this JSONL file")
    parser.add_argument("--save-dialogues", help="write the sample as JSONL here")
    parser.add_argument(
        "--backend", default="transformers", choices=("transformers", "vllm", "openai")
    )
    parser.add_argument("--model", help="model path or name (default: the tiny SmolLM2 model)")
    parser.add_argument("--base-url", help="OpenAI-compatible server URL (--backend openai)")
    parser.add_argument("--device", default="cpu", help="transformers device")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.99)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--max-retries", type=int, default=2)
    parser.add_argument("--no-reference", action="store_true", help="skip the LLM-vs-itself run")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--out", help="write every score and table here (JSON, atomically)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def collect_samples(args: argparse.Namespace) -> list[Sample]:
    """The seeded sample, plus `--dialogues`, saved to `--save-dialogues` when asked."""
    samples = generate_sample(
        args.episodes, args.languages, args.difficulties, first_seed=args.first_seed
    )
    if args.dialogues:
        samples += load_samples(args.dialogues)
    if args.save_dialogues:
        Path(args.save_dialogues).write_text(
            "".join(json.dumps(sample_to_dict(s), ensure_ascii=False) + "\n" for s in samples),
            encoding="utf-8",
        )
    return samples


def agreement_tables(
    scored: Sequence[Scored], reference: bool, resamples: int
) -> dict[str, list[dict[str, Any]]]:
    """Rubric vs LLM judge, and (with the reference run) the LLM judge vs itself."""
    tables = {"rubric vs llm": agreement_rows(scored, "rubric", "llm", resamples=resamples)}
    if reference:
        tables["llm vs llm (other seed)"] = agreement_rows(
            scored, "llm", "llm_ref", resamples=resamples
        )
    return tables


def print_tables(
    args: argparse.Namespace, model: str, n: int, elapsed: float, tables: dict
) -> None:
    """The settings line and one Markdown table per comparison."""
    print(
        f"\n{n} dialogues; LLM judge: {args.backend} {model} "
        f"(temperature {args.temperature}, top_p {args.top_p}, max_new_tokens "
        f"{args.max_new_tokens}, max_retries {args.max_retries}); {elapsed:.0f} s\n"
    )
    for title, rows in tables.items():
        first, second = title.split(" vs ")
        print(f"### {title}  (mean 1 = {first}, mean 2 = {second.split(' ')[0]})\n")
        print(format_rows(rows) + "\n")


def dialogue_record(item: Scored) -> dict[str, Any]:
    """One scored dialogue as written to `--out`."""
    sample, dialogue = item.sample, item.sample.dialogue
    return {
        "id": sample.id,
        "agent": sample.agent,
        "language": sample.language,
        "difficulty": sample.difficulty,
        "decision": dialogue.decision.value if dialogue.decision else None,
        "rounds": sum(t.role == "salesperson" for t in dialogue.turns),
        "rubric": item.rubric,
        **{name: r.score for name, r in item.llm.items()},
        "llm_features": {name: r.features for name, r in item.llm.items()},
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the comparison and prints the tables."""
    from tqdm import tqdm

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dialogues and not Path(args.dialogues).is_file():
        parser.exit(
            2,
            f"{parser.prog}: error: {args.dialogues} not found: pass --dialogues FILE.jsonl, "
            "a file of dialogues in the format that --save-dialogues writes\n",
        )
    started = time.perf_counter()
    samples = collect_samples(args)
    try:
        backend, model_name = make_backend(args)
    except (ValueError, ImportError, CustomerBackendError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    primary = SeedShiftedBackend(backend, 0)
    judges: dict[str, Judge] = {"llm": LLMJudge(primary, model_name, args.max_retries)}
    reference = SeedShiftedBackend(backend, REFERENCE_SEED_OFFSET)
    if not args.no_reference:
        judges["llm_ref"] = LLMJudge(reference, model_name, args.max_retries)
    with tqdm(
        total=len(samples) * len(judges), unit="dlg", disable=args.no_progress, file=sys.stderr
    ) as bar:
        scored = score_samples(samples, judges, args.batch_size, bar.update)
    tables = agreement_tables(scored, "llm_ref" in judges, args.bootstrap)
    elapsed = time.perf_counter() - started
    print_tables(args, model_name, len(samples), elapsed, tables)
    if args.out:
        result = {
            "config": vars(args),
            "model": model_name,
            "seconds": elapsed,
            "tables": tables,
            "dialogues": [dialogue_record(s) for s in scored],
            "raw_answers": {"llm": primary.answers, "llm_ref": reference.answers},
        }
        write_json_atomic(args.out, nan_to_none(result))


if __name__ == "__main__":
    main()
