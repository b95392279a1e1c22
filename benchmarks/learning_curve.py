"""Does GRPO on salesenv make a policy better? A learning experiment that fits a CPU.

    python benchmarks/learning_curve.py --out outputs/learning_curve

Trains the tiny policy (SmolLM2-135M-Instruct, `train.policy_model=tiny`) with TRL's
GRPO on whole conversations of `SalesLLM-en-easy` against the persona customer, and
evaluates it greedily, before, during and after training, on scenarios it never trained on:

- **unseen products**: `--eval-scenarios` scenarios of the *test* side of the seeded
  product split (`SalesEnv(split="test")`: 25 of the 123 products, 7 of the 40 persona
  occupations per language, never drawn in training);
- **seen products**: as many scenarios of the *train* side with seeds that training does
  not use (the training rows start at seed 100000), so the products are the training
  pool's but the scenarios are new.

Training rows are drawn from the train side only. Every evaluation plays the same
scenarios with the same seeds and a greedy policy, so before/after is a paired comparison:
the interval of the gain is a bootstrap over scenarios of the per-scenario difference.

Training aids (all documented, none changes how an episode is scored): the compact
salesperson prompt (`prompt_style="compact"`: the product, its price and facts, one line
of task; the full prompt's rules and selling points cost a 135M model more than they
teach it), `--max-rounds` salesperson turns of at most `--turn-tokens` tokens, groups of
`--group` rollouts per scenario so that groups differ, and only the top `--train-layers`
decoder layers trained (the backward pass stops there: about half the compute of a step,
which on 2 CPU cores is what bounds the experiment). The reward is the env's normal final
score (0-10: intent and rubric judge blended, persona customer).

Writes to `--out` (atomically, and resumable only by rerunning): `curve.json` (per step:
training reward mean, share of groups with zero reward spread, and the held-out means when
evaluated; every evaluation's per-scenario scores), `curve.png`, and prints a Markdown table
with the before/after means and the bootstrap interval of the difference per side.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from salesenv.files import write_atomic
from salesenv.training import (
    SalesRollout,
    env_reward,
    episode_rows,
    evaluate_policy,
    hf_generate,
    load_policy,
)

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is marked experimental

SIDES = ("unseen", "seen")
#: The env split each evaluation side draws from.
SIDE_SPLIT = {"unseen": "test", "seen": "train"}


def bootstrap_interval(
    differences: list[float], resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of paired differences."""
    values = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def train_top_layers(model: Any, count: int) -> int:
    """Freezes all weights but the top `count` decoder layers and the final norm (all of
    them trainable when `count` is 0); returns the number of trainable weights. On CPU the
    backward pass then stops `count` layers down, which makes a step about twice as cheap."""
    if count > 0:
        layers = model.model.layers
        if count > len(layers):
            raise ValueError(f"--train-layers {count}: the model has {len(layers)} layers")
        model.requires_grad_(False)
        for layer in layers[-count:]:
            layer.requires_grad_(True)
        model.model.norm.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/learning_curve"))
    parser.add_argument("--env-id", default="SalesLLM-en-easy")
    parser.add_argument("--steps", type=int, default=40, help="GRPO optimiser steps")
    parser.add_argument("--group", type=int, default=8, help="rollouts per scenario (G)")
    parser.add_argument("--scenarios-per-step", type=int, default=2)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-rounds", type=int, default=3)
    parser.add_argument("--turn-tokens", type=int, default=48)
    parser.add_argument("--eval-scenarios", type=int, default=64, help="unseen-product scenarios")
    parser.add_argument(
        "--seen-scenarios", type=int, default=32, help="seen-product scenarios (before/after only)"
    )
    parser.add_argument("--eval-every", type=int, default=10, help="steps between evaluations")
    parser.add_argument("--prompt-style", default="compact", choices=("compact", "full"))
    parser.add_argument(
        "--train-layers", type=int, default=8, help="top decoder layers trained (0: all weights)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--stop-file",
        type=Path,
        default=None,
        help="when this file appears, training stops after the current step and the final "
        "evaluation runs (a run that must end early keeps its before/after comparison)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    env_kwargs = {"max_rounds": args.max_rounds, "prompt_style": args.prompt_style}
    budgets = {
        "max_turn_tokens": args.turn_tokens,
        "episode_token_budget": args.turn_tokens * args.max_rounds,
    }

    # 1. Training rows: scenarios of the train side of the product split.
    train_kwargs = {**env_kwargs, "split": "train"}
    rows = episode_rows(
        args.env_id, args.steps * args.scenarios_per_step, first_seed=100_000,
        env_kwargs=train_kwargs,
    )  # fmt: skip

    # 2. The policy, and its greedy evaluation on both sides (same seeds every time).
    model, tokenizer = load_policy("tiny")
    trained = train_top_layers(model, args.train_layers)
    print(
        f"training {trained / 1e6:.1f}M of {model.num_parameters() / 1e6:.1f}M weights", flush=True
    )

    def evaluate(sides: tuple[str, ...]) -> dict[str, list[float]]:
        greedy = hf_generate(model, tokenizer, do_sample=False)
        count = {"unseen": args.eval_scenarios, "seen": args.seen_scenarios}
        return {
            side: evaluate_policy(
                greedy,
                tokenizer,
                args.env_id,
                range(count[side]),
                env_kwargs={**env_kwargs, "split": SIDE_SPLIT[side]},
                **budgets,
            )
            for side in sides
        }

    curve: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "steps": []}
    evaluations: dict[int, dict[str, list[float]]] = {}
    # The greedy evaluation before training depends only on these; a rerun reuses it.
    setup = {
        k: str(getattr(args, k))
        for k in ("env_id", "max_rounds", "turn_tokens", "prompt_style", "eval_scenarios",
                  "seen_scenarios", "seed")
    }  # fmt: skip
    curve["evaluation_setup"] = setup
    earlier = args.out / "curve.json"
    if earlier.is_file():
        previous = json.loads(earlier.read_text())
        if previous.get("evaluation_setup") == setup and "0" in previous.get("evaluations", {}):
            evaluations[0] = previous["evaluations"]["0"]
            print("reusing the evaluation before training from the earlier run", flush=True)

    def record_evaluation(step: int, sides: tuple[str, ...]) -> None:
        clock = time.perf_counter()
        evaluations[step] = evaluate(sides)
        means = ", ".join(f"{side} {mean(v):.3f}" for side, v in evaluations[step].items())
        print(
            f"step {step}: held-out greedy mean {means} ({time.perf_counter() - clock:.0f} s)",
            flush=True,
        )
        save()

    def save() -> None:
        curve["evaluations"] = {str(k): v for k, v in evaluations.items()}
        write_atomic(args.out / "curve.json", json.dumps(curve, indent=1))

    class HeldOut(TrainerCallback):
        """Logs each step's training reward and zero-spread share; evaluates every k steps."""

        def on_log(self, _args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "reward" in logs:
                curve["steps"].append(
                    {
                        "step": state.global_step,
                        "reward": logs["reward"],
                        "reward_std": logs.get("reward_std"),
                        "zero_advantage_share": logs.get("frac_reward_zero_std"),
                        "seconds": time.perf_counter() - started,
                    }
                )
                save()

        def on_step_end(self, _args: Any, state: Any, control: Any, **kw: Any) -> None:
            if args.stop_file is not None and args.stop_file.exists():
                control.should_training_stop = True
                print(f"{args.stop_file} found: stopping after step {state.global_step}")
            if state.global_step == args.steps or control.should_training_stop:
                record_evaluation(state.global_step, SIDES)
            elif state.global_step % args.eval_every == 0:
                record_evaluation(state.global_step, ("unseen",))

    if 0 not in evaluations:
        record_evaluation(0, SIDES)

    # 3. GRPO: TRL repeats each row `group` times; the rollout plays each copy.
    config = GRPOConfig(
        output_dir=str(args.out / "trainer"),
        learning_rate=args.lr,
        num_generations=args.group,
        per_device_train_batch_size=args.group * args.scenarios_per_step,
        max_steps=args.steps,
        beta=0.0,
        temperature=1.0,
        max_completion_length=budgets["episode_token_budget"],
        seed=args.seed,
        use_cpu=True,
        bf16=False,  # TRL's default autocasts to bfloat16: on CPU that gemm is many times slower
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
    )
    rollout = SalesRollout(rows, env_kwargs=train_kwargs, **budgets)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=env_reward,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        rollout_func=rollout,
        callbacks=[HeldOut()],
    )
    started = time.perf_counter()
    trainer.train()
    curve["train_seconds"] = time.perf_counter() - started
    save()

    # 4. The table: before vs after per side, with the paired bootstrap interval.
    last = max(evaluations)
    print(f"\n{args.env_id}, {last} GRPO steps\n")
    print("| products | scenarios | before | after | difference [95% bootstrap interval] |")
    print("|---|---:|---:|---:|---|")
    for side in SIDES:
        before, after = evaluations[0][side], evaluations[last][side]
        differences = [b - a for a, b in zip(before, after, strict=True)]
        low, high = bootstrap_interval(differences)
        print(
            f"| {side} | {len(before)} | {mean(before):.2f} | {mean(after):.2f} | "
            f"{mean(differences):+.2f} [{low:+.2f}, {high:+.2f}] |"
        )
    plot(curve, evaluations, args.out / "curve.png")
    print(f"\nWrote {args.out / 'curve.json'} and {args.out / 'curve.png'}")
    return 0


def plot(curve: dict[str, Any], evaluations: dict[int, dict[str, list[float]]], path: Path) -> None:
    """Training reward per step and held-out greedy means per evaluation, one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [s["step"] for s in curve["steps"]]
    ax.plot(steps, [s["reward"] for s in curve["steps"]], color="0.6", label="training reward")
    for side, marker in zip(SIDES, ("o", "s"), strict=True):
        points = sorted(p for p in evaluations if side in evaluations[p])
        ax.plot(
            points,
            [mean(evaluations[p][side]) for p in points],
            marker=marker,
            label=f"held-out greedy, {side} products",
        )
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("final score (0-10)")
    ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
