"""examples/finetune_intent.py on a tiny randomly initialised classifier saved by the test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from salesenv.rewards.hf_intent import HFIntentScorer
from tests.test_hf_intent import _dialogue, _save_classifier

ROOT = Path(__file__).resolve().parents[1]


def test_finetune_writes_a_checkpoint_the_hf_scorer_loads(tmp_path):
    base = _save_classifier(tmp_path / "base", num_labels=2)  # the head is replaced
    out = tmp_path / "tuned"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "finetune_intent.py"),
            "--base",
            str(base),
            "--language",
            "en",
            "--out",
            str(out),
            "--seeds",
            "1",
            "--no-craigslist",
            "--limit",
            "24",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--lr",
            "1e-3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "24 en dialogues" in run.stdout
    losses = [float(x) for x in re.findall(r"mean loss ([0-9.]+)", run.stdout)]
    assert len(losses) == 2 and all(np.isfinite(losses))
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "A", "1": "B", "2": "C", "3": "X", "4": "F"}
    scorer = HFIntentScorer(str(out))
    (result,) = scorer.score_batch([_dialogue("en", ["hello", "no thanks"])])
    assert result.level in ("A", "B", "C", "X", "F")
