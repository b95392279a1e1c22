"""The `salesenv` command: evaluate agents, report, play, browse scenarios, list what exists.

    salesenv eval --out runs/scripted agent=scripted         # the 1,805 suite, persona customer
    salesenv eval --out runs/mymodel agent=llm agents.llm.backend.model=/models/my-model
    salesenv report runs/scripted runs/mymodel --out report/
    salesenv play --env SalesLLM-en-hard
    salesenv serve SalesLLM-en-hard --max-sessions 64       # an OpenEnv-compatible server
    salesenv scenarios stats --suite salesllm-1805
    salesenv list

What gets built (agent, customer, scorer, judge, scoring profile) is configured with Hydra
overrides after the options, from the same config groups as `examples/evaluate.py`
(`conf/`, schemas in `salesenv/config.py`); how the run goes (suite, output folder,
trials, batch size) with the options. `salesenv <command> --help` explains each command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import salesenv
from salesenv.build import ConfigError, instantiate_scorer
from salesenv.cli import eval as eval_command
from salesenv.cli import listing, play, report, scenarios, serve
from salesenv.cli.common import UsageError, compose_config

__all__ = ["UsageError", "build_parser", "compose_config", "instantiate_scorer", "main"]


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
    except (UsageError, ConfigError) as exc:  # a mistake in what was asked: exit 2
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
    for command in (eval_command, report, play, serve, scenarios, listing):
        command.add_parser(commands)
    return parser


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
