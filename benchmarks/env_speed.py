"""Speed of the persona env: steps per second in one process, scorers included.

    python benchmarks/env_speed.py [--episodes N] [--understanding semantic lexical]

Prints a table. Three measurements per language and persona understanding mode (semantic,
the default customer, and lexical), all in this one run so their ratios can be compared on
a noisy machine:
  env only      env.step() with actions precomputed by the scripted agent (replayed);
  env + agent   the scripted agent choosing each action live, as in an evaluation;
  vector x16    make_vec with 16 copies, stepping with replayed actions.
Resets (scenario sampling) and end-of-episode scoring are included in every time.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.customers import PersonaCustomer
from salesenv.customers.reading import sheet_meaning
from salesenv.evaluation import run_episode


def replayed_actions(env_id: str, episodes: int, mode: str) -> list[list[str]]:
    env = salesenv.make(env_id, customer=PersonaCustomer(mode))
    return [
        [
            t["text"]
            for t in run_episode(env, ScriptedSalesAgent(), seed=s).transcript
            if t["role"] == "salesperson"
        ]
        for s in range(episodes)
    ]


def time_env_only(env_id: str, scripts: list[list[str]], mode: str) -> tuple[int, float]:
    env = salesenv.make(env_id, customer=PersonaCustomer(mode))
    steps = 0
    start = time.perf_counter()
    for seed, actions in enumerate(scripts):
        env.reset(seed=seed)
        for action in actions:
            env.step(action)
            steps += 1
    return steps, time.perf_counter() - start


def time_env_and_agent(env_id: str, episodes: int, mode: str) -> tuple[int, float]:
    env = salesenv.make(env_id, customer=PersonaCustomer(mode))
    agent = ScriptedSalesAgent()
    start = time.perf_counter()
    steps = sum(run_episode(env, agent, seed=s).rounds for s in range(episodes))
    return steps, time.perf_counter() - start


def time_vector(
    env_id: str, scripts: list[list[str]], mode: str, num_envs: int = 16
) -> tuple[int, float]:
    envs = salesenv.make_vec(env_id, num_envs=num_envs, customer=PersonaCustomer(mode))
    envs.reset(seed=list(range(num_envs)))
    cursor = [0] * num_envs
    steps = 0
    start = time.perf_counter()
    for _ in range(sum(len(s) for s in scripts) // num_envs):
        actions = tuple(
            scripts[i % len(scripts)][cursor[i] % len(scripts[i % len(scripts)])]
            for i in range(num_envs)
        )
        _, _, terminated, truncated, _ = envs.step(actions)
        for i in range(num_envs):
            cursor[i] = 0 if (terminated[i] or truncated[i]) else cursor[i] + 1
        steps += num_envs
    return steps, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument(
        "--understanding", nargs="+", default=["semantic", "lexical"], help="persona modes"
    )
    args = parser.parse_args()
    header = f"{'env':<22} {'customer':<10} {'measurement':<14} {'steps':>7} {'seconds':>8}"
    print(f"{header} {'steps/s':>9}")
    for env_id in ("SalesLLM-zh-mixed", "SalesLLM-en-mixed"):
        for mode in args.understanding:
            scripts = replayed_actions(env_id, args.episodes, mode)
            for label, timed in (
                ("env only", partial(time_env_only, env_id, scripts, mode)),
                ("env + agent", partial(time_env_and_agent, env_id, args.episodes, mode)),
                ("vector x16", partial(time_vector, env_id, scripts, mode)),
            ):
                # Every measurement reads the same turns: forget the readings of the ones
                # before, or it would only look them up.
                sheet_meaning.cache_clear()
                steps, seconds = timed()
                row = f"{env_id:<22} {mode:<10} {label:<14} {steps:>7} {seconds:>8.2f}"
                print(f"{row} {steps / seconds:>9.0f}")


if __name__ == "__main__":
    main()
