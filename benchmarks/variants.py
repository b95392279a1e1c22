"""Baseline agents on the long-horizon and portfolio variants (persona customer).

    python benchmarks/variants.py [--episodes N] [--languages zh en] [--difficulties hard ...]

Prints two Markdown tables. Long-horizon: the mean final score of the scripted, passive and
random agents, the scripted agent's mean number of sessions, its share of episodes with a
follow-up and its buy rate. Portfolio: the mean final score per agent and the scripted
agent's mean precision (pitched products that fit), bought share (good fits sold) and buy
rate. The episodes are played as `salesenv eval` plays them (`salesenv.evaluation.play`):
episode i of every cell uses seed i, so the tables are reproducible.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.evaluation import play
from salesenv.ids import EnvId, parse_difficulty
from salesenv.runner import select_envs
from salesenv.scenarios.scenario import DIFFICULTIES

AGENTS = ("scripted", "passive", "random")
LONG_HORIZON = (
    "Long-horizon (up to 3 sessions; a clear no opens the next):",
    "| lang | difficulty | scripted | passive | random | sessions | follow-up | buy |",
)
PORTFOLIO = (
    "Portfolio (6 products; final = 0.7 * blended + 0.3 * portfolio points):",
    "| lang | difficulty | scripted | passive | random | precision | bought share | buy |",
)


def scripted_columns(variant: str, scripted: list[dict]) -> list[str]:
    """The scripted agent's variant-specific columns of a row."""
    buy = f"{np.mean([r['decision'] == 'buy' for r in scripted]):.0%}"
    if variant == "longhorizon":
        sessions = [r["score"]["sessions"] for r in scripted]
        return [f"{np.mean(sessions):.2f}", f"{np.mean([s > 1 for s in sessions]):.0%}", buy]
    parts = [r["score"]["portfolio"] for r in scripted]
    precision = np.mean([p["precision"] for p in parts])
    return [f"{precision:.2f}", f"{np.mean([p['bought_share'] for p in parts]):.2f}", buy]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--languages", nargs="+", default=["zh", "en"])
    parser.add_argument("--difficulties", nargs="+", default=list(DIFFICULTIES))
    parser.add_argument("--num-envs", type=int, default=32)
    args = parser.parse_args()
    agents = [ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent()]
    tables = {"longhorizon": LONG_HORIZON, "portfolio": PORTFOLIO}
    env_ids = [
        EnvId(lang, parse_difficulty(d), variant).short
        for variant in tables
        for lang in args.languages
        for d in args.difficulties
    ]
    selection = select_envs(env_ids, episodes=args.episodes)
    results = defaultdict(list)
    for record in play(agents, selection, num_envs=args.num_envs, progress=True):
        results[record["env_id"], record["agent"]].append(record)
    print(f"\n{args.episodes} episodes per cell, persona customer; mean final score (0-10).")
    for variant, (title, header) in tables.items():
        print(f"\n{title}\n\n{header}")
        print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|")
        for env_id in env_ids:
            parsed = EnvId.parse(env_id)
            if parsed.variant != variant:
                continue
            finals = [np.mean([r["score"]["final"] for r in results[env_id, a]]) for a in AGENTS]
            cells = [parsed.language, parsed.difficulty, *(f"{f:.2f}" for f in finals)]
            cells += scripted_columns(variant, results[env_id, "scripted"])
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
