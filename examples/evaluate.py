"""Evaluates sales agents on salesenv ids and prints the leaderboard (`make demo`).

    python examples/evaluate.py                     # baselines on zh-hard and en-hard
    python examples/evaluate.py env.language=en env.difficulty=easy eval.episodes=50
    python examples/evaluate.py customer=vllm customer.model=/models/customer-lm
    python examples/evaluate.py experiment=paper_zh_hard        # the paper's suite slice
    python examples/evaluate.py debug=cpu_tiny                  # seconds, on CPU
    python examples/evaluate.py -m agent=scripted,passive env.language=zh,en \
        env.difficulty=easy,hard eval.episodes=5                # 8 jobs, one per combination

The config groups (env, customer, scorer, judge, agent, eval, experiment, debug) live in
`conf/`, their schemas in `salesenv/config.py`. The run is `salesenv eval`'s
(`salesenv.evaluation.evaluate`): its Hydra run directory (`outputs/...`, or
`multirun/.../<job>` with `-m`) gets `run.json`, `episodes.jsonl` (one record per episode,
written as it ends) and `summary.json`, next to the resolved config in
`.hydra/config.yaml`; `salesenv report <dir>` reads it. A run whose customer backend is
down stops after the first failed episodes with the backend's message and exit status 1;
rerun with `hydra.run.dir=<that dir>` to resume a stopped run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import salesenv
from salesenv.build import ConfigError, build_evaluation
from salesenv.cli.common import UsageError
from salesenv.cli.eval import print_outcome, print_resumed, print_stopped
from salesenv.config import (  # importing it registers the schemas
    apply_protocol,
    env_ids,
    env_kwargs,
)
from salesenv.customers.base import CustomerBackendError
from salesenv.evaluation import evaluate, sigterm_as_interrupt
from salesenv.ids import UnknownIdError
from salesenv.results import ResultsError, RunDirInUseError
from salesenv.runner import EvalAbortedError, Selection, SelectionError, select_envs, select_suite

#: Failures whose message says what to do: printed as one line, exit status 1.
USER_ERRORS = (
    UsageError,
    ConfigError,
    SelectionError,
    UnknownIdError,
    EvalAbortedError,
    CustomerBackendError,
    ResultsError,
    RunDirInUseError,
)


def selection(cfg: DictConfig) -> Selection:
    """What the config plays: with `env.suite`, its scenarios of the language(s) and
    difficulty (the first `eval.episodes` of each language; null plays them all); else
    `eval.episodes` sampled scenarios on each env id.

    Raises:
        UsageError: If `eval.episodes` is below 1, or null without a suite.
    """
    episodes = cfg.eval.episodes
    if (episodes is None and not cfg.env.suite) or (episodes is not None and episodes < 1):
        raise UsageError("eval.episodes must be >= 1 (null plays a whole suite: set env.suite)")
    variant = cfg.env.variant.value
    if not cfg.env.suite:
        return select_envs(env_ids(cfg.env), episodes=episodes, variant=variant)
    language = None if cfg.env.language.value == "both" else cfg.env.language.value
    return select_suite(
        salesenv.load_suite(cfg.env.suite),
        variant=variant,
        language=language,
        difficulty=cfg.env.difficulty.value,
        limit=episodes,
    )


@hydra.main(version_base=None, config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    out = Path(HydraConfig.get().runtime.output_dir)
    try:
        # env.protocol=salesllm-official also means its scoring, unless an override says otherwise.
        apply_protocol(cfg, HydraConfig.get().overrides.task)
        to_play = selection(cfg)
        agents, customer, scorer = build_evaluation(cfg)  # objects from configs: here only
        with sigterm_as_interrupt():
            result = evaluate(
                out,
                agents,
                customer,
                scorer,
                to_play,
                env_kwargs=env_kwargs(cfg.env),
                trials=cfg.eval.trials,
                seed=cfg.eval.seed,
                num_envs=cfg.eval.num_envs,
                progress=cfg.eval.progress,
                on_resume=lambda done, total: print_resumed(out, done, total),
                on_stop=lambda r: print_stopped(r, f"rerun with hydra.run.dir={out} to resume."),
            )
    except USER_ERRORS as exc:
        sys.exit(f"evaluate.py: error: {exc}")
    status = print_outcome(result, cfg.eval.print_table, rerun=f"Rerun with hydra.run.dir={out}")
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
