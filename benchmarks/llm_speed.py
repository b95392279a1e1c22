"""Throughput of an LLM customer: raw batched generation vs the env, sequential and batched.

    python benchmarks/llm_speed.py                       # transformers, tiny model, CPU
    python benchmarks/llm_speed.py --backend vllm        # vLLM's offline engine
    python benchmarks/llm_speed.py --model /models/x --device cuda

One run, one backend and model, so the ratios are comparable:
  raw batch B       `customer.generate` on B customer prompts: replies/s and tokens/s;
  sequential env    one conversation at a time (the salesperson cycles fixed lines);
  make_vec N        N conversations stepped together (one batched backend call per step);
  salesenv eval N   what `salesenv eval --num-envs N` runs (the scripted agent, conversations
                    refilled as they end, one record per episode);
  env overhead      the share of step time spent outside the customer backend.
Env runs use max_regenerations=0 so that they generate exactly what the raw runs do; the
tiny model's role inversions would otherwise add regenerations. The tiny model is not a
credible customer: this measures the plumbing, not dialogue quality.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.customers import CustomerRequest
from salesenv.customers.chat import SamplingConfig, customer_messages
from salesenv.customers.choice import build_backend
from salesenv.dialogue import Turn
from salesenv.evaluation import play
from salesenv.rewards import EpisodeScorer
from salesenv.runner import select_envs
from salesenv.scenarios import ScenarioSampler

ENV_ID = "SalesLLM-en-medium"


class TimedCustomer:
    """Wraps a customer and adds up the time spent in `respond`."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0
        self.replies = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def respond(self, requests):
        start = time.perf_counter()
        replies = self.inner.respond(requests)
        self.seconds += time.perf_counter() - start
        self.replies += len(requests)
        return replies


def prompts(n):
    rng = np.random.default_rng(0)
    sampler = ScenarioSampler("en", "medium")
    out = []
    for i in range(n):
        scenario = sampler.sample(rng)
        turns = (
            Turn("customer", scenario.trigger),
            Turn("salesperson", "Hello! May I ask what matters most to you?"),
        )
        out.append(customer_messages(CustomerRequest(f"b{i}", scenario, turns, seed=i)))
    return out


def count_tokens(customer, texts):
    tokenizer = getattr(customer, "tokenizer", None)
    if tokenizer is None:
        tokenizer = customer.llm.get_tokenizer()
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


SALES_LINES = (
    "Hello! May I ask what matters most to you?",
    "It comes with a 3-year warranty and free delivery within 3 days.",
    "Many customers like how easy it is to use. Shall we go ahead?",
    "I understand the concern. Would you like me to send you the details?",
)


def run_envs(customer, num_envs, episodes, max_rounds):
    """Plays `episodes` episodes with `num_envs` conversations at a time, the salesperson
    cycling through fixed lines; returns (episodes, steps, seconds, seconds in the backend)."""
    timed = TimedCustomer(customer)
    envs = salesenv.make_vec(ENV_ID, num_envs=num_envs, customer=timed, max_rounds=max_rounds)
    start = time.perf_counter()
    envs.reset(seed=0)
    done_episodes = steps = turn = 0
    needs_reset = np.zeros(num_envs, dtype=bool)
    while done_episodes < episodes:
        _, _, terminated, truncated, _ = envs.step(
            (SALES_LINES[turn % len(SALES_LINES)],) * num_envs
        )
        steps += int((~needs_reset).sum())
        turn += 1
        needs_reset = terminated | truncated
        done_episodes += int(needs_reset.sum())
    seconds = time.perf_counter() - start
    return done_episodes, steps, seconds, timed.seconds


def run_eval(customer, num_envs, episodes, max_rounds):
    """Plays `episodes` episodes of the scripted agent as `salesenv eval --num-envs N` does
    (`salesenv.evaluation.play`); returns (episodes, customer turns, seconds, seconds in the
    backend)."""
    timed = TimedCustomer(customer)
    start = time.perf_counter()
    records = play(
        [ScriptedSalesAgent()],
        select_envs([ENV_ID], episodes=episodes),
        timed,
        EpisodeScorer(),
        env_kwargs={"max_rounds": max_rounds},
        num_envs=num_envs,
    )
    seconds = time.perf_counter() - start
    return len(records), sum(r["rounds"] for r in records), seconds, timed.seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["transformers", "vllm"], default="transformers")
    parser.add_argument(
        "--model", default=None, help="model directory (default: the tiny test model)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--memory", type=float, default=0.2, help="vLLM gpu_memory_utilization")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--max-rounds", type=int, default=4)
    args = parser.parse_args()
    if args.model is None:
        from salesenv.customers.tiny_model import tiny_model_dir

        args.model = str(tiny_model_dir())
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens, max_regenerations=0)
    customer = build_backend(
        args.backend,
        args.model,
        sampling,
        device=args.device,
        dtype=args.dtype if args.backend == "vllm" else "auto",  # --dtype is vLLM's
        batch_size=32,
        max_model_len=2048,
        gpu_memory_utilization=args.memory,
    )
    print(
        f"backend {args.backend}, model {args.model}, device {args.device}, {platform.processor() or platform.machine()}"
    )
    print(
        f"max_new_tokens {args.max_new_tokens}; env runs: {args.episodes} episodes of at most {args.max_rounds} rounds\n"
    )

    print("| measurement | replies/s | tokens/s | notes |")
    print("|---|---:|---:|---|")
    customer.generate(prompts(2), [0, 1])  # warm-up
    raw = {}
    for batch in (1, 8, 16, 32):
        conversations = prompts(batch)
        start = time.perf_counter()
        texts = customer.generate(conversations, list(range(batch)))
        seconds = time.perf_counter() - start
        raw[batch] = batch / seconds
        print(
            f"| raw batch {batch} | {batch / seconds:.2f} | {count_tokens(customer, texts) / seconds:.1f} | one generate call |"
        )
    for num_envs in (1, 8, 16):
        episodes, steps, seconds, backend = run_envs(
            customer, num_envs, args.episodes, args.max_rounds
        )
        overhead = (seconds - backend) / seconds
        label = "sequential env" if num_envs == 1 else f"make_vec {num_envs}"
        ratio = (
            f"{steps / seconds / raw[num_envs]:.2f}x raw batch {num_envs}"
            if num_envs in raw
            else ""
        )
        print(
            f"| {label} | {steps / seconds:.2f} | | {episodes / seconds:.3f} episodes/s, "
            f"env overhead {overhead:.1%}, {ratio} |"
        )
    for num_envs in (1, 16):
        episodes, steps, seconds, backend = run_eval(
            customer, num_envs, args.episodes, args.max_rounds
        )
        print(
            f"| salesenv eval {num_envs} | {steps / seconds:.2f} | | {episodes / seconds:.3f} "
            f"episodes/s, overhead {(seconds - backend) / seconds:.1%}, "
            f"{steps / seconds / raw[num_envs]:.2f}x raw batch {num_envs} |"
        )


if __name__ == "__main__":
    main()
