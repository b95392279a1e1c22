"""Baseline agents on the persona customer, per language and difficulty, with margins.

    python benchmarks/baselines.py [--episodes N]

Prints a Markdown table: the mean final score (0-10, profile "paper") of the scripted,
passive and random agents, and the scripted agent's margin over the better of the other
two. Episode i of every cell uses seed i, so the table is reproducible.
"""

from __future__ import annotations

import argparse

from tqdm import tqdm

import salesenv
from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.evaluation import run_episode, summarize

DIFFICULTIES = ("easy", "medium", "hard", "veryhard", "adversarial")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=200)
    args = parser.parse_args()
    agents = (ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent())
    cells = [(lang, d) for lang in ("zh", "en") for d in DIFFICULTIES]
    rows = []
    with tqdm(total=len(cells) * len(agents) * args.episodes, unit="ep") as bar:
        for lang, difficulty in cells:
            env = salesenv.make(f"SalesLLM-{lang}-{difficulty}")
            means = {}
            for agent in agents:
                records = [run_episode(env, agent, seed=s) for s in range(args.episodes)]
                means[agent.name] = summarize(records, by=("agent",))[0]
                bar.update(args.episodes)
            rows.append((lang, difficulty, means))
    print(
        f"\n{args.episodes} episodes per cell; mean final score (buy rate of the scripted agent).\n"
    )
    print("| lang | difficulty | scripted | passive | random | margin |")
    print("|------|------------|----------|---------|--------|--------|")
    for lang, difficulty, m in rows:
        s, p, r = m["scripted"], m["passive"], m["random"]
        margin = s["final"] - max(p["final"], r["final"])
        print(
            f"| {lang} | {difficulty} | {s['final']:.2f} ({s['buy_rate']:.0%} buy) | "
            f"{p['final']:.2f} | {r['final']:.2f} | +{margin:.2f} |"
        )


if __name__ == "__main__":
    main()
