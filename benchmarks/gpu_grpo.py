"""GRPO speed on one GPU: the policy on TRL's colocated vLLM, the customer on vLLM.

    python benchmarks/gpu_grpo.py --policy /models/policy --customer /models/customer-lm \
        --steps 10
    # any further Hydra override of examples/train_grpo.py goes after --:
    python benchmarks/gpu_grpo.py --policy /models/policy --customer /models/customer-lm \
        --steps 10 -- env.max_rounds=8 train.per_turn_max_tokens=128

It runs `examples/train_grpo.py` itself, in this process, with `train.use_vllm=true
train.vllm_mode=colocate customer=vllm` and the arguments below as Hydra overrides, so
the objects are exactly the script's. Around it, it times every call of
`SalesRollout.__call__` (TRL's `rollout_func`: policy turns on vLLM, customer replies on
vLLM, env stepping) and every optimiser step (a `TrainerCallback` added at the first
rollout), then prints a Markdown table: per step, the step time, the rollout time and the
rollout share (rollout / step), and overall steps/s with and without the first step
(which includes vLLM's warm-up). The greedy evaluations before and after training are
outside the timed steps; `--eval-episodes` keeps them short.

On a machine without CUDA it prints that it needs a GPU and exits 0. NOT RUN HERE: this
repository's runs had no GPU, so no figures from it are reported anywhere yet.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "train_grpo.py"


@dataclass
class Timings:
    """Wall-clock marks collected while the example trains."""

    train_start: float | None = None  # the first rollout's start
    step_ends: list[float] = field(default_factory=list)
    rollouts: list[tuple[float, float]] = field(default_factory=list)  # (start, end)

    def per_step(self) -> list[tuple[float, float]]:
        """(step seconds, rollout seconds) per optimiser step."""
        if self.train_start is None:
            return []
        rows, start = [], self.train_start
        for end in self.step_ends:
            inside = sum(b - a for a, b in self.rollouts if start <= a < end)
            rows.append((end - start, inside))
            start = end
        return rows


def overrides(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """The Hydra overrides of `examples/train_grpo.py` for this benchmark."""
    batch = args.batch or args.num_generations
    return [
        f"train.policy_model={args.policy}",
        "train.use_vllm=true",
        "train.vllm_mode=colocate",
        f"train.vllm_gpu_memory_utilization={args.policy_gpu_memory}",
        f"train.vllm_max_model_length={args.max_model_len}",
        f"train.max_steps={args.steps}",
        f"train.num_generations={args.num_generations}",
        f"train.per_device_train_batch_size={batch}",
        f"train.num_prompts={max(args.steps * batch, 1)}",
        "train.save_model=false",
        "customer=vllm",
        f"customer.model={args.customer}",
        f"customer.gpu_memory_utilization={args.customer_gpu_memory}",
        f"customer.max_model_len={args.max_model_len}",
        f"env.language={args.language}",
        f"env.difficulty={args.difficulty}",
        f"eval.episodes={args.eval_episodes}",
        "eval.progress=false",
        f"hydra.run.dir={run_dir}",
        *args.extra,
    ]


def instrument(timings: Timings) -> None:
    """Times `SalesRollout.__call__` and, from its first call, every optimiser step."""
    from transformers import TrainerCallback

    from salesenv.training import SalesRollout

    class StepClock(TrainerCallback):
        def on_step_end(self, *_: Any, **__: Any) -> None:
            timings.step_ends.append(time.perf_counter())

    play = SalesRollout.__call__

    @wraps(play)
    def timed(self: Any, prompts: Any, trainer: Any = None) -> dict[str, list]:
        start = time.perf_counter()
        if timings.train_start is None:
            timings.train_start = start
            if trainer is not None:
                trainer.add_callback(StepClock())
        try:
            return play(self, prompts, trainer)
        finally:
            timings.rollouts.append((start, time.perf_counter()))

    SalesRollout.__call__ = timed


def run_example(hydra_overrides: list[str]) -> None:
    """Runs `examples/train_grpo.py`'s Hydra main in this process."""
    # Hydra resolves the script's `../conf` as the package `conf` of the repository root.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("train_grpo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_grpo"] = module
    spec.loader.exec_module(module)
    saved = sys.argv
    sys.argv = [str(EXAMPLE), *hydra_overrides]
    try:
        module.main()
    finally:
        sys.argv = saved


def table(timings: Timings, args: argparse.Namespace) -> str:
    """The Markdown report: one row per step, then the totals."""
    steps = timings.per_step()
    lines = [
        f"policy `{args.policy}` (colocated vLLM), customer `{args.customer}` (vLLM), "
        f"G={args.num_generations}, {args.language}/{args.difficulty}",
        "",
        "| step | step s | rollout s | rollout share |",
        "|---:|---:|---:|---:|",
    ]
    for i, (total, inside) in enumerate(steps, 1):
        lines.append(f"| {i} | {total:.2f} | {inside:.2f} | {inside / total:.0%} |")
    if steps:
        lines += ["", "| steps | steps/s | rollout share |", "|---|---:|---:|"]
        for label, part in (("all", steps), ("without the first", steps[1:])):
            if part:
                total = sum(s for s, _ in part)
                inside = sum(r for _, r in part)
                lines.append(
                    f"| {label} ({len(part)}) | {len(part) / total:.3f} | {inside / total:.0%} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parses the arguments, runs the training job and prints the table; 0 on success."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policy", required=True, help="policy model folder or hub id")
    parser.add_argument("--customer", required=True, help="customer model folder (vLLM)")
    parser.add_argument("--steps", type=int, default=10, help="optimiser steps")
    parser.add_argument("--num-generations", type=int, default=8, help="GRPO group size G")
    parser.add_argument("--batch", type=int, default=0, help="per-device batch (default: G)")
    parser.add_argument("--language", default="en", choices=["en", "zh"])
    parser.add_argument("--difficulty", default="medium")
    parser.add_argument("--policy-gpu-memory", type=float, default=0.25)
    parser.add_argument("--customer-gpu-memory", type=float, default=0.25)
    parser.add_argument("--max-model-len", type=int, default=8192)
    parser.add_argument("--eval-episodes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: temp)")
    parser.add_argument("extra", nargs="*", help="more Hydra overrides, after --")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("benchmarks/gpu_grpo.py needs a CUDA GPU (none found); nothing was run.")
        return 0
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    run_dir = args.out or Path(tempfile.mkdtemp(prefix="gpu_grpo-"))
    timings = Timings()
    instrument(timings)
    run_example(overrides(args, run_dir))
    print()
    print(table(timings, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
