"""`salesenv list`: env ids, suites, and every option of the catalog with what it needs."""

from __future__ import annotations

import argparse
from typing import Any

import salesenv
from salesenv import catalog

#: How each catalog group is titled in the listing.
TITLES = {
    "agent": "Agents (agent=...)",
    "customer": "Customer backends (customer=...)",
    "scorer": "Intent scorers (scorer=...)",
    "judge": "Judges (judge=...)",
    "env": "Env variants (env=...)",
}


def add_parser(commands: Any) -> None:
    """Adds `salesenv list` to the command parsers."""
    ls = commands.add_parser("list", help="env ids, suites, agents and backends")
    ls.set_defaults(run=cmd_list)


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
    for group in catalog.GROUPS:
        print(f"\n{TITLES.get(group, group)}:")
        for component in catalog.options(group):
            print(f"  {component.option:<14} {component.summary} ({availability(component)})")
    return 0


def availability(component: catalog.Component) -> str:
    """ "ready", or the pip command that installs what the component needs."""
    return f"needs `pip install {component.needs[1]}`" if component.missing else "ready"
