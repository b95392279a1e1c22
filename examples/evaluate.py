"""Evaluates sales agents on salesenv ids and prints a score table (`make demo`).

    python examples/evaluate.py                     # baselines on zh-hard and en-hard
    python examples/evaluate.py env.language=en env.difficulty=easy eval.episodes=50
    python examples/evaluate.py customer=vllm customer.model=/models/customer-lm
    python examples/evaluate.py experiment=paper_zh_hard        # the paper's suite slice
    python examples/evaluate.py debug=cpu_tiny                  # seconds, on CPU
    python examples/evaluate.py -m agent=scripted,passive env.language=zh,en \
        env.difficulty=easy,hard eval.episodes=5                # 8 jobs, one per combination

The config groups (env, customer, scorer, judge, agent, eval, experiment, debug) live in
`conf/`, their schemas in `salesenv/config.py`. Each run writes `episodes.jsonl` (one
record per episode) and `summary.json` to its Hydra run directory (`outputs/...`, or
`multirun/.../<job>` with `-m`), next to the resolved config in `.hydra/config.yaml`.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from tqdm import tqdm

import salesenv
from salesenv.cli import instantiate_scorer
from salesenv.config import env_ids, env_kwargs  # importing it registers the schemas
from salesenv.evaluation import format_table, run_episode, summarize
from salesenv.files import write_atomic


def suite_scenarios(suite: str, env_id: str, difficulty: str) -> list:
    """The suite's scenarios in the env's language (and difficulty, unless "mixed")."""
    language = env_id.split("-")[1]
    wanted = difficulty.replace("veryhard", "very_hard")
    scenarios = [
        s
        for s in salesenv.load_suite(suite)
        if s.language == language and (difficulty == "mixed" or s.difficulty == wanted)
    ]
    if not scenarios:
        raise ValueError(f"suite {suite!r} has no {language} scenario of difficulty {difficulty}")
    return scenarios


@hydra.main(version_base=None, config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    # 1. Build everything the config names (the only place objects come from configs).
    if not cfg.agents:
        raise ValueError("no agent to evaluate: pick one with agent=scripted (see conf/agent/)")
    agents = [hydra.utils.instantiate(agent_cfg) for agent_cfg in cfg.agents.values()]
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)

    # 2. Play: every agent on every env id, episode i with seed `seed + i`
    #    (and, with a suite, its i-th scenario).
    ids = env_ids(cfg.env)
    for env_id in ids:
        salesenv.registry.resolve_id(env_id)  # fail on a bad id before any episode runs
    plans = {}
    for env_id in ids:
        scenarios = (
            suite_scenarios(cfg.env.suite, env_id, cfg.env.difficulty.value)
            if cfg.env.suite
            else None
        )
        episodes = cfg.eval.episodes if cfg.eval.episodes is not None else len(scenarios or ())
        if episodes < 1:
            raise ValueError("eval.episodes must be >= 1 (null plays a whole suite: set env.suite)")
        plans[env_id] = (scenarios, episodes)

    records = []
    total = len(agents) * sum(n for _, n in plans.values())
    with tqdm(total=total, desc="episodes", unit="ep", disable=not cfg.eval.progress) as bar:
        for env_id, (scenarios, episodes) in plans.items():
            env = salesenv.make(
                env_id, customer=customer, scorer=scorer, scenarios=scenarios, **env_kwargs(cfg.env)
            )
            for agent in agents:
                for i in range(episodes):
                    options = {"scenario_index": i % len(scenarios)} if scenarios else None
                    records.append(run_episode(env, agent, seed=cfg.eval.seed + i, options=options))
                    bar.update()
            env.close()

    # 3. Summarise into the run directory, next to Hydra's .hydra/config.yaml.
    rows = summarize(records, by=tuple(cfg.eval.group_by))
    out = Path(HydraConfig.get().runtime.output_dir)
    if cfg.eval.write_episodes:
        write_atomic(
            out / "episodes.jsonl",
            "".join(json.dumps(r.as_dict(), ensure_ascii=False) + "\n" for r in records),
        )
    write_atomic(out / "summary.json", json.dumps(rows, indent=2))
    if cfg.eval.print_table:
        backend = ", ".join(f"{k} {v}" for k, v in customer.describe().items())
        counts = sorted({n for _, n in plans.values()})
        print(
            f"\nScores on the 0-10 scale (profile {scorer.profile.name}, "
            f"alpha {scorer.profile.alpha}),"
        )
        print(
            f"{'/'.join(map(str, counts))} episodes per row; customer: {backend}; "
            "ci95 = 95% interval of the mean.\n"
        )
        print(format_table(rows))
        print(f"\nOutputs: {out}")


if __name__ == "__main__":
    main()
