"""`salesenv report`: leaderboard, tables and plots from eval folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from salesenv.cli.common import UsageError, warnings_to_stderr


def add_parser(commands: Any) -> None:
    """Adds `salesenv report` to the command parsers."""
    rep = commands.add_parser(
        "report",
        help="leaderboard, tables and plots from eval folders",
        description="Reads eval folders and writes report.md and PNG plots (needs "
        "salesenv[report] for the plots); prints the tables. Folders of different "
        "conversation protocols (--protocol) are refused when they would share a column.",
    )
    rep.add_argument("dirs", nargs="+", type=Path, help="eval output folders")
    rep.add_argument("--out", type=Path, default=Path("report"), help="default ./report")
    rep.set_defaults(run=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from salesenv.report import (
        MixedProtocolError,
        check_protocols,
        difficulty_table,
        leaderboard,
        markdown_table,
        protocols,
        turns_table,
        write_report,
    )
    from salesenv.results import load_results

    runs = {}
    for directory in args.dirs:
        with warnings_to_stderr():
            runs[str(directory)] = load_results(directory)
    try:
        check_protocols(runs)
    except MixedProtocolError as exc:
        raise UsageError(str(exc)) from None
    records = [record for run in runs.values() for record in run]
    written = write_report(records, args.out, sources=list(runs))
    print(f"Protocol: {', '.join(protocols(records))}\n")
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
