"""`salesenv eval`: run agents over a suite, resumable, records as episodes end."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesenv.build import build_evaluation
from salesenv.cli.common import (
    DEFAULT_SAMPLED_EPISODES,
    DEFAULT_SUITE,
    UsageError,
    compose_config,
    count_option,
    difficulty_option,
    env_id_or_none,
    load_suite_or_none,
)
from salesenv.protocol import PROTOCOLS

if TYPE_CHECKING:
    from salesenv.evaluation import EvalResult
    from salesenv.runner import Selection

EVAL_HELP = """\
Runs every configured agent over a suite and writes one JSONL record per episode
(transcript, scores, flags, versions) to OUT/episodes.jsonl as episodes end, then
OUT/summary.json. Rerun the same command with the same --out to resume: finished
episodes are kept, none is run twice; episodes that failed are retried.

Configure with Hydra overrides after the options (config groups in conf/):
  agent=scripted | passive | random | llm | llm_vllm | llm_openai | [scripted,passive]
  agents.llm.backend.model=/models/my-model     the model under evaluation
  customer=persona | transformers | vllm | openai  (+ customer.model=...)
  scorer=decision | oracle | embedded | hf | llm     judge=rubric | llm
  scoring.profile=paper | salesllm-readme            env=plain | longhorizon | portfolio
  --protocol salesllm-official (or env.protocol=...)  the public SalesLLM runner's rules
  experiment=salesllm_official                       the paper's models and protocol (GPU)

Examples:
  salesenv eval --out runs/baselines                  # the three baselines, 1,805 scenarios
  salesenv eval --out runs/qwen agent=llm_vllm agents.llm.backend.model=/models/Qwen2.5-7B-Instruct
  salesenv eval --out runs/quick --suite SalesLLM-zh-hard --episodes 50 agent=scripted
"""


def add_parser(commands: Any) -> None:
    """Adds `salesenv eval` to the command parsers."""
    from salesenv.config import EvalConf

    ev = commands.add_parser(
        "eval",
        help="run agents over a suite; resumable",
        description=EVAL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--out", required=True, type=Path, help="output folder (rerun to resume)")
    ev.add_argument(
        "--suite",
        default=DEFAULT_SUITE,
        help="a built-in suite, a JSONL file (salesenv or public SalesLLM format) or an env id "
        f"whose scenarios are sampled (default {DEFAULT_SUITE})",
    )
    ev.add_argument(
        "--episodes", type=count_option, help="with an env id: episodes to sample (200)"
    )
    ev.add_argument("--language", choices=["zh", "en"], help="keep one language of the suite")
    ev.add_argument(
        "--suite-language",
        choices=["zh", "en"],
        help="read every script of a public SalesLLM file in this language, whatever its rows "
        "say or its text suggests (as the official runner's command line decides)",
    )
    ev.add_argument(
        "--difficulty", type=difficulty_option, metavar="DIFFICULTY", help="keep one difficulty"
    )
    ev.add_argument(
        "--limit", type=count_option, help="play only the first N scenarios of each language"
    )
    defaults = EvalConf()  # evaluate()'s own defaults
    ev.add_argument(
        "--trials",
        type=count_option,
        default=defaults.trials,
        help=f"plays of each scenario (default {defaults.trials})",
    )
    ev.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help=f"seed of the first episode (default {defaults.seed})",
    )
    ev.add_argument(
        "--num-envs",
        type=count_option,
        default=defaults.num_envs,
        help=f"conversations run at once (default {defaults.num_envs})",
    )
    ev.add_argument(
        "--protocol",
        choices=list(PROTOCOLS),
        help="conversation protocol (env.protocol; default salesenv): salesllm-official plays "
        "by the public SalesLLM runner's rules and scores as its README says (docs/protocols.md)",
    )
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.add_argument("overrides", nargs="*", help="Hydra overrides: agent=, customer=, scorer=, ...")
    ev.set_defaults(run=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    """Runs `salesenv eval`: composes the config, builds what it names, evaluates, prints."""
    from salesenv.config import apply_protocol, env_kwargs
    from salesenv.evaluation import evaluate, sigterm_as_interrupt

    cfg = compose_config(protocol_overrides(args))
    apply_protocol(cfg, args.overrides)
    selection = episode_groups(args, cfg.env.variant.value)
    agents, customer, scorer = build_evaluation(cfg)
    with sigterm_as_interrupt():
        result = evaluate(
            args.out,
            agents,
            customer,
            scorer,
            selection,
            env_kwargs=env_kwargs(cfg.env),
            trials=args.trials,
            seed=args.seed,
            num_envs=args.num_envs,
            progress=not args.no_progress,
            on_resume=lambda done, total: print_resumed(args.out, done, total),
            on_stop=print_stopped,
        )
    return print_outcome(result)


def protocol_overrides(args: argparse.Namespace) -> list[str]:
    """The Hydra overrides with `--protocol` as `env.protocol=...` (an explicit
    `env.protocol=` override says the same; two different ones are a usage error).

    Raises:
        UsageError: If `--protocol` and an `env.protocol=` override disagree.
    """
    overrides = list(args.overrides)
    if args.protocol is None:
        return overrides
    given = [o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0] == "env.protocol"]
    if any(value.strip().lower().replace("_", "-") != args.protocol for value in given):
        raise UsageError(
            f"--protocol {args.protocol} contradicts env.protocol={given[-1]}: give one of them"
        )
    return [f"env.protocol={args.protocol}", *overrides]


def episode_groups(args: argparse.Namespace, variant: str) -> Selection:
    """What `--suite` (and the filters) stand for, as a `salesenv.runner.Selection`: the
    suite's name and content hash, and per language the env id (in the config's variant),
    its scenarios (None when sampled) and the episode count.

    Raises:
        UsageError: If the suite is neither a suite, a file nor an env id, is empty, or the
            env id names another variant than the config's `env=`.
    """
    from salesenv.runner import SelectionError, select_envs, select_suite

    spec = args.suite
    suite_language = getattr(args, "suite_language", None)
    suite = load_suite_or_none(spec, language=suite_language)
    try:
        if suite is not None:
            if args.episodes:
                raise UsageError("--episodes applies to env ids; use --limit to shorten a suite")
            return select_suite(
                suite,
                variant=variant,
                language=args.language,
                difficulty=args.difficulty,
                limit=args.limit,
            )
        env_id = env_id_or_none(spec)
        if env_id is None:
            raise UsageError(
                f"--suite {spec!r} is not a built-in suite ({DEFAULT_SUITE}), a file, or an env "
                "id such as SalesLLM-zh-hard (see `salesenv list`)"
            )
        if args.language or args.difficulty or suite_language:
            raise UsageError(
                "--language, --suite-language and --difficulty apply to suites; put the "
                "language and difficulty in the env id"
            )
        count = args.episodes or DEFAULT_SAMPLED_EPISODES
        if args.limit:
            count = min(count, args.limit)
        return select_envs([env_id], episodes=count, variant=variant)
    except SelectionError as exc:
        raise UsageError(str(exc)) from None


def print_resumed(out: Path, done: int, total: int) -> None:
    """Says that a run resumes, and how much of it is done."""
    print(f"resuming {out}: {done} of {total} episodes already done")


def print_stopped(result: EvalResult, rerun: str = "rerun the same command to resume.") -> None:
    """Says on stderr that a run stopped before its end, what is saved and how to go on."""
    print(
        f"stopped: {result.finished} of {result.planned} episodes are saved in {result.out}; "
        f"{rerun}",
        file=sys.stderr,
    )


def print_outcome(
    result: EvalResult, table: bool = True, rerun: str = "Rerun the same command"
) -> int:
    """Prints the leaderboard (unless `table` is false), the failed episodes and where the
    results are; returns the exit status (1 if an episode failed)."""
    from salesenv.report import leaderboard, markdown_table

    scored = [r for r in result.records if r.get("error") is None]
    if scored and table:
        print()
        print(markdown_table(*leaderboard(scored)))
    errors = result.errors
    if errors:
        print(
            f"\n{len(errors)} episodes failed (see 'error' in {result.out}/episodes.jsonl), the "
            f"first with: {errors[0]['error']}\n{rerun} to retry them.",
            file=sys.stderr,
        )
    out = result.out
    print(f"\nResults: {out}/episodes.jsonl, {out}/summary.json; `salesenv report {out}`.")
    return 1 if errors else 0
