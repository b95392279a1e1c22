"""`salesenv eval`: run agents over a suite, resumable, records as episodes end."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import salesenv
from salesenv.build import instantiate_scorer
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

Examples:
  salesenv eval --out runs/baselines                  # the three baselines, 1,805 scenarios
  salesenv eval --out runs/qwen agent=llm_vllm agents.llm.backend.model=/models/Qwen2.5-7B-Instruct
  salesenv eval --out runs/quick --suite SalesLLM-zh-hard --episodes 50 agent=scripted
"""


def add_parser(commands: Any) -> None:
    """Adds `salesenv eval` to the command parsers."""
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
        "--difficulty", type=difficulty_option, metavar="DIFFICULTY", help="keep one difficulty"
    )
    ev.add_argument(
        "--limit", type=count_option, help="play only the first N scenarios of each language"
    )
    ev.add_argument(
        "--trials", type=count_option, default=1, help="plays of each scenario (default 1)"
    )
    ev.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    ev.add_argument(
        "--num-envs", type=count_option, default=32, help="conversations run at once (default 32)"
    )
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.add_argument("overrides", nargs="*", help="Hydra overrides: agent=, customer=, scorer=, ...")
    ev.set_defaults(run=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    import hydra
    from tqdm import tqdm

    from salesenv.config import env_kwargs
    from salesenv.report import group_summary
    from salesenv.results import RunDirectory
    from salesenv.runner import plan_episodes, run_planned

    for name in ("trials", "num_envs"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1")
    cfg = compose_config(args.overrides)
    variant = cfg.env.variant.value

    # 1. What to play: (env id, scenario list or None, episodes) per language.
    name, suite_hash, groups = episode_groups(args, variant)

    # 2. Build what the config names.
    if not cfg.agents:
        raise UsageError("no agent to evaluate: add agent=scripted (or agent=llm ...)")
    if "human" in cfg.agents:
        raise UsageError("agent=human plays at the terminal: use `salesenv play`")
    agents = [hydra.utils.instantiate(agent_cfg) for agent_cfg in cfg.agents.values()]
    names = [agent.name for agent in agents]
    if len(set(names)) != len(names):
        raise UsageError(f"two agents share a name ({names}): set agents.<option>.name")
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)
    scoring = {
        "profile": f"{scorer.profile.name}-v{scorer.profile.version}",
        "alpha": scorer.profile.alpha,
        "intent": f"{scorer.intent.name}-v{scorer.intent.version}",
        "judge": f"{scorer.judge.name}-v{scorer.judge.version}",
        "faithfulness_penalty": scorer.faithfulness_penalty,
    }
    described = customer.describe()
    agent_info = {agent.name: _describe_agent(agent) for agent in agents}
    manifest = {
        "suite": name,
        "suite_hash": suite_hash,
        "envs": [env_id for env_id, _, _ in groups],
        "agents": names,
        "agent_models": {
            name: {k: info[k] for k in ("backend", "model", "seed") if k in info}
            for name, info in agent_info.items()
            if "model" in info
        },
        "customer": {k: described[k] for k in ("backend", "model") if k in described},
        "scoring": scoring,
        "max_rounds": cfg.env.max_rounds,
        "seed": args.seed,
        "trials": args.trials,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "salesenv_version": salesenv.__version__,
    }
    versions = {"salesenv": salesenv.__version__, "customer": described, "scoring": scoring}

    # 3. Plan, skip what the folder already holds, play the rest.
    plans = {
        (agent.name, env_id): plan_episodes(
            agent.name, env_id, count, args.trials, args.seed, scenarios is not None
        )
        for agent in agents
        for env_id, scenarios, count in groups
    }
    total = sum(len(p) for p in plans.values())
    run_dir = RunDirectory(args.out)
    with _sigterm_as_interrupt(), run_dir.lock():
        run_dir.start(manifest)
        done = run_dir.finished()
        kept = {k: r for k, r in done.items() if r.get("error") is None}
        todo = sum(1 for p in plans.values() for e in p if e.key not in kept)
        if kept:
            print(f"resuming {args.out}: {total - todo} of {total} episodes already done")
        bar = tqdm(
            total=total,
            initial=total - todo,
            desc="episodes",
            unit="ep",
            disable=args.no_progress,
            dynamic_ncols=True,
        )
        scores = [r["score"]["final"] for r in kept.values()]

        def save(finished: list[dict[str, Any]]) -> None:
            run_dir.append(finished)
            scores.extend(r["score"]["final"] for r in finished if r["error"] is None)
            bar.update(len(finished))
            if scores:
                bar.set_postfix(mean_score=f"{sum(scores) / len(scores):.2f}", refresh=False)

        complete = False
        try:
            for agent in agents:
                for env_id, scenarios, _ in groups:
                    pending = [e for e in plans[(agent.name, env_id)] if e.key not in kept]
                    if not pending:
                        continue
                    envs = salesenv.make_vec(
                        env_id,
                        num_envs=min(args.num_envs, len(pending)),
                        customer=customer,
                        scorer=scorer,
                        scenarios=scenarios,
                        **env_kwargs(cfg.env),
                    )
                    try:
                        agent_versions = {**versions, "agent": agent_info[agent.name]}
                        run_planned(envs, agent, pending, save, agent_versions)
                    finally:
                        envs.close()
            complete = True
        finally:
            bar.close()
            # The records file is the truth: an interrupt can land between a write and the
            # bookkeeping above, and the summary must count what a resume will find.
            records = run_dir.finished()
            rows = group_summary(records.values(), by=("agent", "language", "difficulty"))
            errors = sum(r.get("error") is not None for r in records.values())
            run_dir.write_summary(
                {
                    "complete": complete and errors == 0,
                    "planned": total,
                    "finished": len(records) - errors,
                    "errored": errors,
                    "run": manifest,
                    "by_agent_language": group_summary(records.values(), by=("agent", "language")),
                    "by_agent_language_difficulty": rows,
                }
            )
            if not complete:
                print(
                    f"stopped: {len(records) - errors} of {total} episodes are saved in "
                    f"{args.out}; rerun the same command to resume.",
                    file=sys.stderr,
                )
    _print_eval_summary(list(records.values()), args.out, errors)
    return 1 if errors else 0


def episode_groups(
    args: argparse.Namespace, variant: str
) -> tuple[str, str | None, list[tuple[str, Any, int]]]:
    """What `--suite` (and the filters) stand for: the suite's name and content hash, and
    per language the env id, its scenarios (None when sampled) and the episode count.

    Raises:
        UsageError: If the suite is neither a suite, a file nor an env id, or is empty.
    """
    suffix = f"-{variant}" if variant else ""
    spec = args.suite
    suite = load_suite_or_none(spec)
    if suite is None:
        env_id = env_id_or_none(spec)
        if env_id is None:
            raise UsageError(
                f"--suite {spec!r} is not a built-in suite ({DEFAULT_SUITE}), a file, or an env "
                "id such as SalesLLM-zh-hard (see `salesenv list`)"
            )
        if args.language or args.difficulty:
            raise UsageError("--language and --difficulty filter suites; put them in the env id")
        count = args.episodes or DEFAULT_SAMPLED_EPISODES
        if args.limit:
            count = min(count, args.limit)
        return env_id, None, [(env_id, None, count)]
    if args.episodes:
        raise UsageError("--episodes applies to env ids; use --limit to shorten a suite")
    difficulty = args.difficulty
    if difficulty == "mixed":
        difficulty = None
    suite = suite.filter(language=args.language, difficulty=difficulty)
    groups = []
    for language in ("zh", "en"):
        scenarios = suite.filter(language=language).scenarios[: args.limit]
        if scenarios:
            groups.append((f"SalesLLM-{language}-mixed{suffix}", scenarios, len(scenarios)))
    if not groups:
        raise UsageError(f"suite {spec!r} has no scenario with these filters")
    return suite.name, suite.content_hash, groups


def _describe_agent(agent: Any) -> dict[str, Any]:
    """What an agent is, for records: an LLM agent's backend and model, else its class."""
    if hasattr(agent, "describe"):
        return dict(agent.describe())
    return {"name": agent.name, "class": f"{type(agent).__module__}.{type(agent).__qualname__}"}


def _print_eval_summary(records: list[dict[str, Any]], out: Path, errors: int) -> None:
    from salesenv.report import leaderboard, markdown_table

    scored = [r for r in records if r.get("error") is None]
    if scored:
        print()
        print(markdown_table(*leaderboard(scored)))
    if errors:
        first = next(r["error"] for r in records if r.get("error") is not None)
        print(
            f"\n{errors} episodes failed (see 'error' in {out}/episodes.jsonl), the first with: "
            f"{first}\nRerun the same command to retry them.",
            file=sys.stderr,
        )
    print(f"\nResults: {out}/episodes.jsonl, {out}/summary.json; `salesenv report {out}`.")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. from a job scheduler) stops an eval like Ctrl-C: the summary is written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
