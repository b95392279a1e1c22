"""The customer on a Hugging Face transformers causal LM: batched `generate` on CPU or GPU."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salesenv.customers.base import CustomerBackendError
from salesenv.customers.chat import (
    DEFAULT_CHAT_TEMPLATE_KWARGS,
    ChatBackend,
    Message,
    SamplingConfig,
)
from salesenv.customers.model_path import check_model_path, is_hub_id


def _require_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "the transformers customer needs torch and transformers: `pip install salesenv[hf]` "
            "(on CPU-only machines install `torch==2.13.0` first)"
        ) from exc
    return torch


class TransformersChat(ChatBackend):
    """A customer played by any causal LM that transformers can load.

    Replies are generated in batches with the tokenizer's chat template. Sampling is seeded
    per request: each row draws its token with Gumbel-max noise from its own generator, so
    a conversation's reply does not depend on which other conversations share its batch.

    Args:
        model: A local model directory, or a `.gguf` file (the folder and `gguf_file` are
            then derived), or a hub id (such as the released customer model
            "MultiSense/CustomerLM") where a hub or its cache is reachable.
        gguf_file: A GGUF file name inside `model` (needs the `gguf` package).
        tokenizer: Where to load the tokenizer from (default: `model`).
        chat_template: A Jinja chat template for tokenizers that lack one.
        device: "cpu", "cuda", "cuda:1", ...
        dtype: "auto", "float32", "bfloat16" or "float16".
        batch_size: Conversations per `generate` call.
        sampling: Sampling parameters and reply limits.
        chat_template_kwargs: Variables passed to the chat template on every call (default
            `{"enable_thinking": False}`: a Qwen3-family model answers without reasoning);
            None passes none.

    Raises:
        ModelNotFoundError: If `model` is neither a folder, a `.gguf` file nor a hub id
            (checked before transformers is imported).
        CustomerBackendError: If the model or tokenizer cannot be loaded; the message names
            the path and what to check.
    """

    name = "transformers"

    def __init__(
        self,
        model: str,
        gguf_file: str | None = None,
        tokenizer: str | None = None,
        chat_template: str | None = None,
        device: str = "cpu",
        dtype: str = "auto",
        batch_size: int = 16,
        sampling: SamplingConfig | None = None,
        chat_template_kwargs: dict[str, Any] | None = DEFAULT_CHAT_TEMPLATE_KWARGS,
    ) -> None:
        super().__init__(sampling, chat_template_kwargs)
        check_model_path(
            model, "transformers backend", "config.json and weights", gguf=gguf_file is None
        )
        torch = _require_torch()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if str(model).endswith(".gguf"):
            path = Path(model)
            model, gguf_file = str(path.parent), path.name
        self.model_name = f"{model}/{gguf_file}" if gguf_file else str(model)
        self.device = device
        self.batch_size = batch_size
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer or model, gguf_file=gguf_file)
            torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
            self.model = AutoModelForCausalLM.from_pretrained(
                model, gguf_file=gguf_file, dtype=torch_dtype
            )
        except (OSError, ValueError) as exc:
            if is_hub_id(str(model)) and not Path(model).expanduser().exists():
                advice = (
                    f"{str(model)!r} is read as a hub id: without a reachable model hub, "
                    "download the repository where one is reachable (for example "
                    f"`hf download {model} --local-dir /models/{Path(model).name}`) "
                    "and pass that local folder as the model"
                )
            else:
                advice = (
                    "Check that the path exists and holds a causal LM (config + weights, or "
                    "pass gguf_file=)"
                )
            raise CustomerBackendError(
                f"transformers customer: cannot load model {self.model_name!r}: {exc}. {advice}."
            ) from exc
        if chat_template:
            self.tokenizer.chat_template = chat_template
        if not self.tokenizer.chat_template:
            raise CustomerBackendError(
                f"transformers customer: the tokenizer of {self.model_name!r} has no chat "
                "template; pass chat_template= (a Jinja template)"
            )
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.to(device).eval()

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model_name, "device": self.device}

    def generate(self, conversations: Sequence[list[Message]], seeds: Sequence[int]) -> list[str]:
        torch = _require_torch()
        out: list[str] = []
        for start in range(0, len(conversations), self.batch_size):
            chunk = conversations[start : start + self.batch_size]
            prompts = [
                self.tokenizer.apply_chat_template(
                    c, tokenize=False, add_generation_prompt=True, **self.template_kwargs
                )
                for c in chunk
            ]
            batch = self.tokenizer(
                prompts, return_tensors="pt", padding=True, add_special_tokens=False
            )
            batch = batch.to(self.device)
            processors = []
            if self.sampling.temperature > 0:
                processors.append(
                    _SeededSampler(
                        seeds[start : start + self.batch_size],
                        self.sampling.temperature,
                        self.sampling.top_p,
                        self.device,
                    )
                )
            with torch.inference_mode():
                generated = self.model.generate(
                    **batch,
                    max_new_tokens=self.sampling.max_new_tokens,
                    do_sample=False,
                    logits_processor=processors,
                    pad_token_id=self.tokenizer.pad_token_id,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                )
            new_tokens = generated[:, batch["input_ids"].shape[1] :]
            out.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return out


class _SeededSampler:
    """Temperature, top-p and a per-row Gumbel-max draw, as a logits processor.

    Adding Gumbel noise to the tempered, top-p-masked logits and taking the argmax (greedy
    decoding does) samples from the top-p softmax; each row's noise comes from its own
    seeded generator.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float, device: str) -> None:
        import torch

        self.temperature = temperature
        self.top_p = top_p
        self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids, scores):
        import torch

        scores = scores.float() / self.temperature
        if self.top_p < 1.0:
            sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
            cumulative = torch.softmax(sorted_scores, dim=-1).cumsum(dim=-1)
            drop_sorted = cumulative - torch.softmax(sorted_scores, dim=-1) > self.top_p
            drop = drop_sorted.scatter(1, order, drop_sorted)
            scores = scores.masked_fill(drop, float("-inf"))
        noise = torch.stack(
            [
                torch.rand(scores.shape[-1], generator=g, device=scores.device)
                for g in self.generators[: scores.shape[0]]
            ]
        )
        gumbel = -torch.log(-torch.log(noise.clamp(1e-10, 1.0 - 1e-10)))
        return scores + gumbel


#: The name before 0.2 (the class drives the salesperson and the graders too, not only the
#: customer); kept so that existing imports and configs keep working.
TransformersCustomer = TransformersChat
