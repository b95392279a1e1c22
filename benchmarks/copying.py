"""Verbatim copying: the scripted agent in its own words vs pasting fact text.

    python benchmarks/copying.py [--limit N] [--num-envs N] [--understanding semantic|lexical]

The salesperson's rules forbid quoting PRODUCT_INFORMATION verbatim. On the built-in suite
(salesllm-1805, both languages), the scripted agent says each fact in its own words
(`ScriptedSalesAgent()`) or pastes the fact text (`ScriptedSalesAgent(verbatim=True)`);
everything else is the same. Prints a Markdown table per language: mean final score,
intent and judge score (rubric judge v3, which takes `RubricWeights.copied` per copied
turn), the share of salesperson turns flagged as copied (a span of `COPY_THRESHOLD`
units shared with the product information), and the own-words agent's margin. The
episodes are played as `salesenv eval` plays them (`salesenv.evaluation.play`), so the
table is reproducible. Exits with status 1 if pasting scores at least as well as the own
words in a language.
"""

from __future__ import annotations

import argparse
import sys

from salesenv.agents import ScriptedSalesAgent
from salesenv.customers import PersonaCustomer
from salesenv.evaluation import play
from salesenv.report import group_summary
from salesenv.runner import select_suite
from salesenv.scenarios.scenario import LANGUAGES
from salesenv.scenarios.suites import load_suite


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", default="salesllm-1805")
    parser.add_argument("--limit", type=int, default=None, help="scenarios per language")
    parser.add_argument("--num-envs", type=int, default=32)
    parser.add_argument("--understanding", default=None, help="the persona customer's mode")
    args = parser.parse_args()
    own, pasted = ScriptedSalesAgent(), ScriptedSalesAgent(verbatim=True)
    customer = PersonaCustomer(understanding=args.understanding) if args.understanding else None
    records = play(
        [own, pasted],
        select_suite(load_suite(args.suite), limit=args.limit),
        customer=customer,
        num_envs=args.num_envs,
        progress=True,
    )
    rows = {
        (r["language"], r["agent"]): r for r in group_summary(records, by=("language", "agent"))
    }
    counts = ", ".join(f"{lang} {rows[lang, own.name]['episodes']}" for lang in LANGUAGES)
    print(f"\nsuite {args.suite}; episodes per agent: {counts}\n")
    print("| lang | agent | final | intent | judge | copied turns |")
    print("|------|-------|-------|--------|-------|--------------|")
    failed = False
    for lang in LANGUAGES:
        for agent in (own, pasted):
            r = rows[lang, agent.name]
            print(
                f"| {lang} | {agent.name} | {r['final']:.2f} | {r['intent']:.2f} | "
                f"{r['judge']:.2f} | {r['copied']:.1%} |"
            )
    print()
    for lang in LANGUAGES:
        margin = rows[lang, own.name]["final"] - rows[lang, pasted.name]["final"]
        failed |= margin <= 0
        print(f"{lang}: own words - pasted = {margin:+.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
