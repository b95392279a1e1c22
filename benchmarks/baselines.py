"""Baseline agents on the persona customer, per language and difficulty, with margins.

    python benchmarks/baselines.py [--episodes N] [--num-envs N]

Prints a Markdown table: the mean final score (0-10, profile "paper") of the scripted,
passive and random agents, and the scripted agent's margin over the better of the other
two. The episodes are played as `salesenv eval` plays them (`salesenv.evaluation.play`):
episode i of every cell uses seed i, so the table is reproducible.
"""

from __future__ import annotations

import argparse

from salesenv.agents import PassiveSalesAgent, RandomSalesAgent, ScriptedSalesAgent
from salesenv.evaluation import play
from salesenv.ids import EnvId
from salesenv.report import group_summary
from salesenv.runner import select_envs
from salesenv.scenarios.scenario import DIFFICULTIES, LANGUAGES


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=32)
    args = parser.parse_args()
    agents = [ScriptedSalesAgent(), PassiveSalesAgent(), RandomSalesAgent()]
    env_ids = [EnvId(lang, d).short for lang in LANGUAGES for d in DIFFICULTIES]
    records = play(
        agents,
        select_envs(env_ids, episodes=args.episodes),
        num_envs=args.num_envs,
        progress=True,
    )
    rows = {(r["env_id"], r["agent"]): r for r in group_summary(records, by=("env_id", "agent"))}
    print(
        f"\n{args.episodes} episodes per cell; mean final score (buy rate of the scripted agent).\n"
    )
    print("| lang | difficulty | scripted | passive | random | margin |")
    print("|------|------------|----------|---------|--------|--------|")
    for env_id in env_ids:
        s, p, r = (rows[env_id, agent.name] for agent in agents)
        margin = s["final"] - max(p["final"], r["final"])
        parsed = EnvId.parse(env_id)
        print(
            f"| {parsed.language} | {parsed.difficulty} | {s['final']:.2f} "
            f"({s['buy_rate']:.0%} buy) | {p['final']:.2f} | {r['final']:.2f} | +{margin:.2f} |"
        )


if __name__ == "__main__":
    main()
