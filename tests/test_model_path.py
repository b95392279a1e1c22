"""A wrong model path fails at once, naming the path, in each local backend and the hf
scorer; hub ids pass through. No model is loaded: the check runs before any import."""

from __future__ import annotations

import pytest

from salesenv.customers import CustomerBackendError
from salesenv.customers.model_path import ModelNotFoundError, check_model_path, is_hub_id


@pytest.mark.parametrize("model", ["org/name", "HuggingFaceTB/SmolLM2-135M-Instruct", "gpt2"])
def test_hub_ids_pass_through(model):
    assert is_hub_id(model)
    check_model_path(model, "test backend", "weights")  # no error: a hub cache may hold it


@pytest.mark.parametrize("model", ["/no/such/model", "./model", "~/model", "a/b/c", "x.gguf"])
def test_local_paths_are_not_hub_ids(model):
    assert not is_hub_id(model)


def test_existing_folder_and_gguf_file_are_accepted(tmp_path):
    check_model_path(tmp_path, "test backend", "weights")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    check_model_path(gguf, "test backend", "weights", gguf=True)
    with pytest.raises(ModelNotFoundError, match="it is a file, not a model; pass a local folder"):
        check_model_path(gguf, "test backend", "weights", gguf=False)


def test_missing_path_message_names_the_path_and_what_to_pass(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as err:
        check_model_path(missing, "test backend", "config.json and weights", gguf=True)
    message = str(err.value)
    assert message.startswith(f"test backend: cannot load model {str(missing)!r}")
    assert "no such file or folder" in message
    assert "pass a local folder with config.json and weights or a .gguf file" in message
    assert "'org/name'" in message
    assert isinstance(err.value, FileNotFoundError)
    assert isinstance(err.value, CustomerBackendError)


def test_transformers_backend_checks_the_path_first(tmp_path):
    from salesenv.customers.transformers_backend import TransformersChat

    missing = tmp_path / "models" / "smol"
    with pytest.raises(ModelNotFoundError, match=r"transformers backend: cannot load model .*smol"):
        TransformersChat(str(missing))
    with pytest.raises(ModelNotFoundError, match=r"missing\.gguf'.* or a \.gguf file"):
        TransformersChat(str(tmp_path / "missing.gguf"))


def test_vllm_backend_checks_the_path_first(tmp_path):
    from salesenv.customers.vllm_backend import VLLMChat

    missing = tmp_path / "no-model"
    with pytest.raises(ModelNotFoundError, match=r"vllm backend: cannot load model .*no-model"):
        VLLMChat(str(missing))


def test_hf_intent_scorer_checks_every_checkpoint(tmp_path):
    from salesenv.rewards.hf_intent import HFIntentScorer

    with pytest.raises(ModelNotFoundError, match=r"hf intent scorer: .*zh-ckpt'.*classification"):
        HFIntentScorer({"en": str(tmp_path), "zh": str(tmp_path / "zh-ckpt")})
