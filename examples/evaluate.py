"""Evaluates sales agents on salesenv ids and prints a score table (`make demo`).

    python examples/evaluate.py                          # baselines on zh-hard and en-hard
    python examples/evaluate.py episodes=50 envs=[SalesLLM-en-easy,SalesLLM-en-adversarial]
    python examples/evaluate.py customer=vllm customer.model=/models/customer-lm

Writes `episodes.jsonl` (one record per episode) and `summary.json` to Hydra's run
directory and prints the table.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from tqdm import tqdm

import salesenv
from salesenv.evaluation import format_table, run_episode, summarize
from salesenv.rewards import EpisodeScorer


def write_atomically(path: Path, text: str) -> None:
    """Writes `text` to `path` so that a crash never leaves a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


@hydra.main(version_base=None, config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    agents = {name: hydra.utils.instantiate(agent_cfg) for name, agent_cfg in cfg.agents.items()}
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = EpisodeScorer(profile=cfg.scoring_profile)
    total = len(agents) * len(cfg.envs) * cfg.episodes
    records = []
    with tqdm(total=total, desc="episodes", unit="ep", disable=not cfg.progress) as bar:
        for env_id in cfg.envs:
            env = salesenv.make(env_id, scorer=scorer, customer=customer)
            for agent in agents.values():
                for i in range(cfg.episodes):
                    records.append(run_episode(env, agent, seed=cfg.seed + i))
                    bar.update()
            env.close()

    rows = summarize(records, by=("agent", "language", "difficulty"))
    out = Path(HydraConfig.get().runtime.output_dir)
    write_atomically(
        out / "episodes.jsonl",
        "".join(json.dumps(r.as_dict(), ensure_ascii=False) + "\n" for r in records),
    )
    write_atomically(out / "summary.json", json.dumps(rows, indent=2))
    backend = ", ".join(f"{k} {v}" for k, v in customer.describe().items())
    print(
        f"\nScores on the 0-10 scale (profile {scorer.profile.name}, alpha {scorer.profile.alpha}),"
    )
    print(
        f"{cfg.episodes} episodes per row; customer: {backend}; ci95 = 95% interval of the mean.\n"
    )
    print(format_table(rows))
    print(f"\nRecords: {out / 'episodes.jsonl'}")


if __name__ == "__main__":
    main()
