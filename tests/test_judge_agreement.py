"""benchmarks/judge_agreement.py on a tiny sample with fake chat backends (no model), and the
agreement statistics it reports (salesenv.rewards.agreement)."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from salesenv.rewards import agreement as stats
from salesenv.rewards.judge import RubricJudge
from salesenv.rewards.llm_graders import LLMJudge, SeedShiftedBackend
from salesenv.rewards.transcript import flatten

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "judge_agreement", ROOT / "benchmarks" / "judge_agreement.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


ja = _load_script()


class RubricEchoBackend:
    """Answers each judge prompt with the rubric judge's score (plus `offset`) of the
    dialogue whose transcript it holds."""

    def __init__(self, samples, offset=0):
        dialogues = [s.dialogue for s in samples]
        self.scores = {
            flatten(d): r.score + offset
            for d, r in zip(dialogues, RubricJudge().judge_batch(dialogues), strict=True)
        }

    def generate(self, conversations, seeds):
        answers = []
        for conversation in conversations:
            prompt = conversation[-1]["content"]
            transcript = max((t for t in self.scores if t in prompt), key=len)
            answers.append(f"Score: {self.scores[transcript]}")
        return answers


class ConstantBackend:
    def __init__(self, answer):
        self.answer = answer
        self.seeds = []

    def generate(self, conversations, seeds):
        self.seeds.extend(seeds)
        return [self.answer] * len(conversations)


@pytest.fixture(scope="module")
def samples():
    sample = ja.generate_sample(1, difficulties=("easy", "adversarial"))
    assert len(sample) == 2 * 2 * 3  # languages x difficulties x agents
    return sample


def test_sample_has_varied_quality_and_round_trips(samples, tmp_path):
    rubric = [r.score for r in RubricJudge().judge_batch([s.dialogue for s in samples])]
    assert len(set(rubric)) >= 3
    assert {s.agent for s in samples} == {"scripted", "passive", "random"}
    path = tmp_path / "dialogues.jsonl"
    path.write_text("\n".join(json.dumps(ja.sample_to_dict(s)) for s in samples) + "\n\n")
    loaded = ja.load_samples(path)
    assert [s.dialogue for s in loaded] == [s.dialogue for s in samples]
    assert [s.id for s in loaded] == [s.id for s in samples]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"turns": []}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        ja.load_samples(bad)


def test_a_judge_that_echoes_the_rubric_agrees_perfectly(samples):
    judges = {
        "llm": LLMJudge(RubricEchoBackend(samples), "echo"),
        "llm_ref": LLMJudge(RubricEchoBackend(samples, offset=1), "echo+1"),
    }
    seen = []
    scored = ja.score_samples(samples, judges, batch_size=5, progress=seen.append)
    assert sum(seen) == 2 * len(samples) and max(seen) <= 5
    assert [s.sample for s in scored] == list(samples)  # order kept despite length sorting
    rows = ja.agreement_rows(scored, "rubric", "llm", resamples=200)
    overall = rows[1]
    assert overall["group"] == "all" and overall["n"] == len(samples)
    for name in ("pearson", "spearman", "kendall"):
        assert overall[name] == pytest.approx(1.0)
        low, high = overall[f"{name}_ci"]
        assert low == pytest.approx(1.0) and high == pytest.approx(1.0)
    assert overall["mad"] == 0.0 and overall["mean_x"] == overall["mean_y"]
    assert overall["fallback"] == 0 and overall["note"] == ""
    groups = {r["group"] for r in rows}
    assert {"language=zh", "language=en", "agent=scripted", "agent=random"} <= groups
    # Shifted by one point (clamped at 10): ranks agree, the mean differs.
    shifted = ja.agreement_rows(scored, "llm", "llm_ref", resamples=50)[1]
    assert shifted["spearman"] > 0.95 and 0.5 < shifted["mad"] <= 1.0
    table = ja.format_rows(rows)
    assert table.count("\n") >= len(rows) + 1 and "1.00 [1.00, 1.00]" in table


def test_a_constant_judge_gives_nan_with_a_note_not_a_crash(samples):
    scored = ja.score_samples(samples, {"llm": LLMJudge(ConstantBackend("5"), "const")})
    row = ja.agreement_rows(scored, "rubric", "llm", resamples=50)[1]
    assert row["n"] == len(samples)
    assert all(math.isnan(row[name]) for name in ("pearson", "spearman", "kendall"))
    assert all(math.isnan(v) for v in row["pearson_ci"])
    assert "second judge constant (5)" in row["note"]
    table = ja.format_rows([row])
    assert "NaN" in table and "correlation undefined" in table


def test_fallbacks_are_counted_and_left_out(samples):
    scored = ja.score_samples(samples, {"llm": LLMJudge(ConstantBackend("no idea"), "mute")})
    with_fallbacks, parsed = ja.agreement_rows(scored, "rubric", "llm", resamples=20)[:2]
    assert with_fallbacks["fallback"] == len(samples) and with_fallbacks["pearson"] == 1.0
    assert parsed["n"] == 0 and math.isnan(parsed["pearson"]) and parsed["retried"] == len(samples)
    assert "fewer than 2" in parsed["note"]


def test_seed_shift_changes_seeds_and_keeps_answers():
    inner = ConstantBackend("7")
    shifted = SeedShiftedBackend(inner, offset=10)
    assert shifted.generate([[{"role": "user", "content": "x"}]] * 2, [1, 2]) == ["7", "7"]
    assert inner.seeds == [11, 12] and shifted.answers == ["7", "7"]


def test_statistics_match_known_values():
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    assert stats.pearson(x, y) == pytest.approx(0.8)
    assert stats.spearman(x, y) == pytest.approx(0.8)
    assert stats.kendall_tau(x, y) == pytest.approx(0.6)
    assert stats.pearson(x, [-v for v in x]) == pytest.approx(-1.0)
    assert list(stats.average_ranks([3, 1, 3, 2])) == [3.5, 1.0, 3.5, 2.0]
    assert math.isnan(stats.pearson([1], [2])) and math.isnan(stats.kendall_tau([1, 1], [1, 2]))
    with pytest.raises(ValueError):
        stats.agreement([1, 2], [1])


def test_statistics_match_scipy_with_ties():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 40), rng.integers(0, 5, 40)
    y = y + x  # correlated, with ties
    assert stats.pearson(x, y) == pytest.approx(scipy_stats.pearsonr(x, y)[0])
    assert stats.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y)[0])
    assert stats.kendall_tau(x, y) == pytest.approx(scipy_stats.kendalltau(x, y)[0])


def test_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(1)
    x = rng.normal(size=80)
    y = x + rng.normal(scale=0.7, size=80)
    low, high = stats.bootstrap_ci(x, y, stats.pearson, resamples=300, seed=3)
    assert low < stats.pearson(x, y) < high and 0 < high - low < 0.4
    assert stats.bootstrap_ci(x, y, stats.pearson, resamples=300, seed=3) == (low, high)


def test_json_is_written_atomically(tmp_path):
    path = tmp_path / "sub" / "out.json"
    ja.write_json_atomic(path, {"r": np.float64(0.5), "ok": [1, 2]})
    assert json.loads(path.read_text()) == {"r": 0.5, "ok": [1, 2]}
    with pytest.raises(TypeError):
        ja.write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text())["r"] == 0.5  # the old file survives a failed write
    assert not [p for p in path.parent.iterdir() if re.search(r"\.tmp$", p.name)]


def _run_script(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "judge_agreement.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_script_with_a_missing_dialogue_file_says_so_in_one_line(tmp_path):
    missing = tmp_path / "nope.jsonl"
    result = _run_script("--dialogues", missing)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"judge_agreement.py: error: {missing} not found: pass --dialogues FILE.jsonl, "
        "a file of dialogues in the format that --save-dialogues writes\n"
    )


def test_script_with_a_wrong_model_path_says_so_in_one_line(tmp_path):
    missing = tmp_path / "no-model"
    result = _run_script("--episodes", 0, "--no-progress", "--model", missing)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(
        f"judge_agreement.py: error: transformers backend: cannot load model '{missing}'"
    )
    assert result.stderr.count("\n") == 1


def test_estimates_are_formatted_with_their_interval():
    assert stats.format_estimate(0.8123, (0.5, 0.951)) == "0.81 [0.50, 0.95]"
    assert stats.format_estimate(0.8123, (math.nan, math.nan)) == "0.81"
    assert stats.format_estimate(math.nan, (0.1, 0.2)) == "NaN"
    assert stats.format_number(math.nan) == "NaN" and stats.format_number(1 / 3) == "0.33"
