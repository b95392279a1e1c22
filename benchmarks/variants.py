"""Baseline agents on the long-horizon and portfolio variants (persona customer).

    python benchmarks/variants.py [--episodes N] [--languages zh en] [--difficulties hard ...]

Prints two Markdown tables. Long-horizon: the mean final score of the scripted, passive and
random agents, the scripted agent's mean number of sessions, its share of episodes with a
follow-up and its buy rate. Portfolio: the mean final score per agent and the scripted
agent's mean precision (pitched products that fit), bought share (good fits sold) and buy
rate. Episode i of every cell uses seed i, so the tables are reproducible.
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

import salesenv
from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.evaluation import run_episode

DIFFICULTIES = ("easy", "medium", "hard", "veryhard", "adversarial")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--languages", nargs="+", default=["zh", "en"])
    parser.add_argument("--difficulties", nargs="+", default=list(DIFFICULTIES))
    args = parser.parse_args()
    agents = (ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent())
    cells = [
        (variant, lang, d)
        for variant in ("longhorizon", "portfolio")
        for lang in args.languages
        for d in args.difficulties
    ]
    results = {}
    with tqdm(total=len(cells) * len(agents) * args.episodes, unit="ep") as bar:
        for variant, lang, difficulty in cells:
            env = salesenv.make(f"SalesLLM-{lang}-{difficulty}-{variant}")
            for agent in agents:
                records = [run_episode(env, agent, seed=s) for s in range(args.episodes)]
                results[variant, lang, difficulty, agent.name] = records
                bar.update(args.episodes)

    def final(key):
        return np.mean([r.score["final"] for r in results[key]])

    print(f"\n{args.episodes} episodes per cell, persona customer; mean final score (0-10).\n")
    print("Long-horizon (up to 3 sessions; a clear no opens the next):\n")
    print("| lang | difficulty | scripted | passive | random | sessions | follow-up | buy |")
    print("|------|------------|----------|---------|--------|----------|-----------|-----|")
    for variant, lang, d in cells:
        if variant != "longhorizon":
            continue
        scripted = results[variant, lang, d, "scripted"]
        sessions = [r.score["sessions"] for r in scripted]
        print(
            f"| {lang} | {d} | {final((variant, lang, d, 'scripted')):.2f} | "
            f"{final((variant, lang, d, 'passive')):.2f} | "
            f"{final((variant, lang, d, 'random')):.2f} | {np.mean(sessions):.2f} | "
            f"{np.mean([s > 1 for s in sessions]):.0%} | "
            f"{np.mean([r.decision == 'buy' for r in scripted]):.0%} |"
        )
    print("\nPortfolio (6 products; final = 0.7 * blended + 0.3 * portfolio points):\n")
    print("| lang | difficulty | scripted | passive | random | precision | bought share | buy |")
    print("|------|------------|----------|---------|--------|-----------|--------------|-----|")
    for variant, lang, d in cells:
        if variant != "portfolio":
            continue
        scripted = results[variant, lang, d, "scripted"]
        parts = [r.score["portfolio"] for r in scripted]
        print(
            f"| {lang} | {d} | {final((variant, lang, d, 'scripted')):.2f} | "
            f"{final((variant, lang, d, 'passive')):.2f} | "
            f"{final((variant, lang, d, 'random')):.2f} | "
            f"{np.mean([p['precision'] for p in parts]):.2f} | "
            f"{np.mean([p['bought_share'] for p in parts]):.2f} | "
            f"{np.mean([r.decision == 'buy' for r in scripted]):.0%} |"
        )


if __name__ == "__main__":
    main()
