"""The learning experiment's own arithmetic (benchmarks/learning_curve.py): the paired
bootstrap interval, which weights it trains, and the curve it draws."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "learning_curve", ROOT / "benchmarks" / "learning_curve.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lc = _load_script()


def test_bootstrap_interval_of_paired_differences():
    assert lc.bootstrap_interval([0.5] * 64) == pytest.approx((0.5, 0.5))
    rng = np.random.default_rng(1)
    noise = list(rng.normal(0.0, 1.0, size=64))
    low, high = lc.bootstrap_interval(noise)
    assert low < np.mean(noise) < high and low < 0 < high  # no real change: 0 is inside
    shifted = [x + 1.0 for x in noise]
    low_s, high_s = lc.bootstrap_interval(shifted)
    assert low_s > 0 and (low_s, high_s) == pytest.approx((low + 1.0, high + 1.0))
    assert lc.bootstrap_interval(noise) == (low, high)  # seeded: the same every run


def test_train_top_layers_freezes_the_rest():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=4,
        num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    total = sum(p.numel() for p in model.parameters())
    per_layer = sum(p.numel() for p in model.model.layers[0].parameters())
    norm = model.model.norm.weight.numel()
    assert lc.train_top_layers(model, 1) == per_layer + norm
    assert not any(p.requires_grad for p in model.model.layers[2].parameters())
    assert all(p.requires_grad for p in model.model.layers[3].parameters())
    assert not model.model.embed_tokens.weight.requires_grad  # tied with the LM head
    model.requires_grad_(True)
    assert lc.train_top_layers(model, 0) == total
    with pytest.raises(ValueError, match="has 4 layers"):
        lc.train_top_layers(model, 5)


def test_plot_draws_the_training_reward_and_both_sides(tmp_path):
    curve = {"steps": [{"step": s, "reward": 4.0 + 0.1 * s} for s in (1, 2, 3)]}
    evaluations = {0: {"unseen": [4.0, 5.0], "seen": [4.5]}, 2: {"unseen": [5.0, 5.0]}}
    lc.plot(curve, evaluations, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.tmp.png"))
