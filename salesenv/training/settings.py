"""GRPO training settings: the one home of their defaults (the `train` config group).

`examples/train_grpo.py` reads them from its composed config (`cfg.train`) and hands them
to TRL's `GRPOConfig` and to `SalesRollout`; `salesenv.config` registers `TrainConf` as the
schema of `train=grpo`, so `train.lr=...` is type-checked and `train.policy_model` is
mandatory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from omegaconf import MISSING


class VLLMMode(Enum):
    """How TRL's GRPO trainer runs vLLM: inside the training process or as a server."""

    colocate = "colocate"
    server = "server"


@dataclass
class TrainConf:
    """GRPO settings read by `examples/train_grpo.py` (TRL's `GRPOTrainer`).

    Attributes:
        policy_model: Path or hub id of the salesperson model being trained.
        lr: Learning rate.
        num_generations: Group size G: episodes per scenario whose rewards are compared.
        max_steps: Optimiser steps.
        per_turn_max_tokens: Token budget of one salesperson turn.
        episode_token_budget: Tokens the salesperson may generate in one episode.
        per_device_train_batch_size: Completions per device and step.
        gradient_accumulation_steps: Steps accumulated before an optimiser step.
        beta: KL coefficient against the reference policy (0 disables the reference).
        temperature: Policy sampling temperature during rollouts.
        use_vllm: Generate rollouts with vLLM.
        vllm_mode: colocate (same process and GPU) or server (`trl vllm-serve`).
        vllm_server_host: Host of the `trl vllm-serve` server (server mode).
        vllm_server_port: Port of that server.
        vllm_server_timeout: Seconds to wait for that server to answer on `/health`
            before giving up (the server may still be starting).
        seed: Training seed.
        output_dir: Checkpoints; null uses the Hydra run directory.
        num_prompts: Scenarios in the training dataset (each played by G rollouts).
        first_seed: Seed of the first training scenario; evaluation uses `eval.seed + i`,
            so keep the two ranges apart.
        shaping_weight: Weight of the potential-based intent shaping added to the episode
            reward (0 disables it; it needs a transcript-reading scorer to matter).
        logging_steps: Log every this many optimiser steps.
        save_model: Save the trained policy (and tokenizer) to `<output_dir>/final`.
        vllm_gpu_memory_utilization: GPU memory share of the colocated vLLM engine.
        vllm_max_model_length: vLLM's context length; must hold a whole episode.
        chat_template_kwargs: Variables for the policy's chat template in rollouts and
            evaluation; the default turns a Qwen3 policy's thinking off (as for the
            customer models), `train.chat_template_kwargs.enable_thinking=true` turns it
            on, `~train.chat_template_kwargs.enable_thinking` leaves the template's own
            default. Templates without the variable ignore it.
    """

    policy_model: str = MISSING
    lr: float = 1e-6
    num_generations: int = 8
    max_steps: int = 500
    per_turn_max_tokens: int = 256
    episode_token_budget: int = 4096
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    beta: float = 0.0
    temperature: float = 1.0
    use_vllm: bool = False
    vllm_mode: VLLMMode = VLLMMode.colocate
    vllm_server_host: str = "0.0.0.0"
    vllm_server_port: int = 8000
    vllm_server_timeout: float = 240.0
    seed: int = 0
    output_dir: str | None = None
    num_prompts: int = 512
    first_seed: int = 100_000
    shaping_weight: float = 0.0
    logging_steps: int = 1
    save_model: bool = True
    vllm_gpu_memory_utilization: float = 0.3
    vllm_max_model_length: int | None = None
    chat_template_kwargs: dict[str, Any] = field(default_factory=lambda: {"enable_thinking": False})
