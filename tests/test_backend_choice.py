"""`build_backend`: the backend choice of the benchmark scripts."""

from __future__ import annotations

import pytest

from salesenv.customers import PersonaCustomer
from salesenv.customers.chat import SamplingConfig
from salesenv.customers.choice import BACKENDS, build_backend, build_chat_backend


def test_persona_needs_no_model():
    assert isinstance(build_backend("persona"), PersonaCustomer)


def test_unknown_backend_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of persona, transformers, vllm, openai"):
        build_backend("llamacpp")
    assert BACKENDS == ("persona", "transformers", "vllm", "openai")


def test_openai_needs_the_served_model_name():
    with pytest.raises(ValueError, match="served model's name"):
        build_backend("openai")


def test_openai_backend_takes_url_and_sampling():
    pytest.importorskip("openai")
    sampling = SamplingConfig(temperature=0.3, max_new_tokens=12)
    backend = build_chat_backend("openai", "m", sampling=sampling, base_url="http://127.0.0.1:9/v1")
    assert backend.describe() == {
        "backend": "openai",
        "model": "m",
        "base_url": "http://127.0.0.1:9/v1",
    }
    assert backend.sampling is sampling


def test_chat_backend_refuses_the_persona_simulator():
    with pytest.raises(ValueError, match="no language model"):
        build_chat_backend("persona")


@pytest.mark.llm
def test_transformers_defaults_to_the_tiny_model():
    pytest.importorskip("transformers")
    backend = build_backend("transformers", batch_size=2)
    assert backend.describe()["model"].endswith("SmolLM2-135M-Instruct")
    assert backend.batch_size == 2
