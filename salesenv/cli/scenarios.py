"""`salesenv scenarios`: sample, show, export and count scenarios."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import salesenv
from salesenv.cli.common import (
    DEFAULT_SAMPLED_EPISODES,
    DEFAULT_SUITE,
    UsageError,
    count_option,
    difficulty_option,
    env_id_or_none,
    load_suite_or_none,
)


def add_parser(commands: Any) -> None:
    """Adds `salesenv scenarios` to the command parsers."""
    sc = commands.add_parser("scenarios", help="sample, show, export and count scenarios")
    sc_commands = sc.add_subparsers(dest="action", metavar="action", required=True)
    sample = sc_commands.add_parser("sample", help="print sampled scenarios")
    sample.add_argument("--env", default="SalesLLM-zh-mixed", help="env id to sample from")
    sample.add_argument("-n", type=count_option, default=3, help="how many (default 3)")
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
    export.add_argument(
        "-n", "--episodes", type=count_option, help="with an env id: how many (200)"
    )
    export.add_argument("--seed", type=int, default=0, help="with an env id: first seed")
    export.add_argument("--language", choices=["zh", "en"])
    export.add_argument("--difficulty", type=difficulty_option, metavar="DIFFICULTY")
    export.set_defaults(run=cmd_scenarios_export)
    stats = sc_commands.add_parser("stats", help="counts of a suite, or of the whole space")
    stats.add_argument("--suite", help="a suite, file or env id; none: the sampler's space")
    stats.add_argument("-n", "--episodes", type=count_option, help="with an env id: how many (200)")
    stats.set_defaults(run=cmd_scenarios_stats)


def cmd_scenarios_sample(args: argparse.Namespace) -> int:
    env_id = env_id_or_none(args.env)
    if env_id is None:
        raise UsageError(f"{args.env!r} is not an env id (see `salesenv list`)")
    for scenario in _sampled(env_id, args.n, args.seed):
        print(_scenario_line(scenario))
        if args.full:
            print(_scenario_text(scenario))
    return 0


def cmd_scenarios_show(args: argparse.Namespace) -> int:
    suite = load_suite_or_none(args.suite)
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
    difficulty = args.difficulty
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
    suite = load_suite_or_none(spec)
    if suite is not None:
        return list(suite)
    env_id = env_id_or_none(spec)
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
