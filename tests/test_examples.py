"""Entry points and packaging: the demo evaluation and a normal (non-editable) install."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.import_probe import assert_stays_light
from tests.unreachable import unreachable_customer

ROOT = Path(__file__).resolve().parents[1]


def run_evaluate(run_dir: Path, *overrides: str, check: bool = False):
    """Runs examples/evaluate.py with Hydra overrides into `run_dir`."""
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "evaluate.py"),
            *overrides,
            f"hydra.run.dir={run_dir}",
        ],
        capture_output=True,
        text=True,
        check=check,
        cwd=run_dir,
        timeout=300,
    )


def test_evaluate_prints_the_table_and_writes_records(tmp_path):
    result = run_evaluate(
        tmp_path,
        "eval.episodes=3",
        "eval.progress=false",
        "env.language=both",
        "env.difficulty=easy",
        check=True,
    )
    # The leaderboard of `salesenv eval`: one row per agent, one column per language.
    header = next(line for line in result.stdout.splitlines() if line.startswith("| agent"))
    assert "| en · persona" in header and "| zh · persona" in header
    lines = [line for line in result.stdout.splitlines() if line.startswith("| scripted")]
    assert len(lines) == 1
    cells = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert len(cells) == 4 and all(cell[0].isdigit() for cell in cells[1:3]) and cells[3] == "6"
    # What `salesenv eval` writes: schema-1 records, run.json, summary.json.
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 3 * 3 * 2  # agents x episodes x envs (zh and en)
    assert {r["agent"] for r in records} == {"scripted", "passive", "random"}
    assert {r["env_id"] for r in records} == {"SalesLLM-zh-easy", "SalesLLM-en-easy"}
    assert all(r["schema"] == 1 and r["error"] is None for r in records)
    assert sorted(r["seed"] for r in records if r["agent"] == "scripted") == [0, 0, 1, 1, 2, 2]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is True and summary["finished"] == 18
    rows = summary["by_agent_language"]
    assert len(rows) == 6 and all(row["episodes"] == 3 for row in rows)
    assert all(row["ci_low"] <= row["final"] <= row["ci_high"] for row in rows)
    by_difficulty = summary["by_agent_language_difficulty"]
    assert {row["difficulty"] for row in by_difficulty} == {"easy"}
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["agents"] == ["scripted", "passive", "random"]
    assert manifest["envs"] == ["SalesLLM-zh-easy", "SalesLLM-en-easy"]
    assert (tmp_path / ".hydra" / "config.yaml").exists()
    assert not (tmp_path / ".lock").exists()


def test_evaluate_stops_when_the_customer_server_is_unreachable(tmp_path):
    url, customer = unreachable_customer()
    result = run_evaluate(
        tmp_path, "eval.episodes=2", "eval.progress=false", "agent=scripted", *customer
    )
    assert result.returncode == 1
    assert "evaluate.py: error: the first 2 episodes all failed" in result.stderr
    assert url in result.stderr and "Check that the server is running" in result.stderr
    assert f"stopped: 0 of 4 episodes are saved in {tmp_path}" in result.stderr
    assert f"rerun with hydra.run.dir={tmp_path} to resume" in result.stderr
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(url in r["error"] for r in records)  # stopped after zh
    assert {r["language"] for r in records} == {"zh"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is False and summary["errored"] == 2


def test_evaluate_needs_a_number_of_episodes_without_a_suite(tmp_path):
    result = run_evaluate(tmp_path, "eval.episodes=null")
    assert result.returncode == 1
    assert (
        "evaluate.py: error: eval.episodes must be >= 1 (null plays a whole suite: set env.suite)"
        in result.stderr
    )
    assert not (tmp_path / "episodes.jsonl").exists()


def test_evaluate_rejects_an_unknown_env(tmp_path):
    result = run_evaluate(tmp_path, "env.language=xx", "eval.episodes=1")
    assert result.returncode != 0
    assert "Invalid value 'xx', expected one of [zh, en, both]" in result.stderr


@pytest.mark.slow
def test_wheel_installs_agents_and_rewards_under_salesenv(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("salesenv-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "salesenv/__init__.py",
        "salesenv/agents/scripted.py",
        "salesenv/rewards/judge.py",
        "salesenv/data/cues.yaml",
        "salesenv/customers/data/phrases.yaml",
        "salesenv/scenarios/data/categories/finance.yaml",
        "salesenv/scenarios/data/suites/salesllm-1805.jsonl.gz",
    ):
        assert expected in names, expected
    assert not any(n.startswith(("agents/", "rewards/", "tests/")) for n in names)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import salesenv, salesenv.agents, salesenv.rewards;"
        "assert salesenv.__file__.startswith(sys.argv[1]), salesenv.__file__;"
        "assert salesenv.agents.__file__.startswith(sys.argv[1]);"
        "env = salesenv.make('SalesLLM-en-easy'); env.reset(seed=0);"
        "print(len(salesenv.load_suite('salesllm-1805')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import sys; " + probe, str(target)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
    )
    assert out.stdout.strip() == "1805"


CUSTOMER_GROUPS = ["persona", "transformers", "vllm", "openai"]


@pytest.mark.parametrize("name", CUSTOMER_GROUPS)
def test_customer_configs_compose(name):
    from hydra import compose, initialize_config_dir
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    import salesenv.config  # noqa: F401  (registers the schemas the YAML files extend)

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose(config_name="evaluate", overrides=[f"customer={name}"])
    target = get_class(cfg.customer._target_)
    assert target.name == name
    if name != "persona":
        assert OmegaConf.is_missing(cfg.customer, "model")  # the user must say which model
        assert cfg.customer.sampling.temperature == 0.8 and cfg.customer.sampling.top_p == 0.99


def test_backend_failure_records_an_errored_episode():
    import salesenv
    from salesenv.agents import ScriptedSalesAgent
    from salesenv.customers import CustomerBackendError, PersonaCustomer
    from salesenv.evaluation import run_episode, summarize

    class FailingCustomer(PersonaCustomer):
        def respond(self, requests):
            if any(len(r.turns) > 3 for r in requests):
                raise CustomerBackendError("openai customer: no answer from http://127.0.0.1:9/v1")
            return super().respond(requests)

    env = salesenv.make("SalesLLM-en-hard", customer=FailingCustomer())
    record = run_episode(env, ScriptedSalesAgent(), seed=0)
    assert record.error and "no answer" in record.error
    assert record.score == {} and record.decision is None and record.difficulty == "hard"
    ok = run_episode(salesenv.make("SalesLLM-en-hard"), ScriptedSalesAgent(), seed=1)
    (row,) = summarize([record, ok], by=("agent",))
    assert row["episodes"] == 1 and row["errors"] == 1
    assert row["final"] == ok.score["final"]


def test_import_salesenv_stays_light():
    assert_stays_light(
        "import salesenv, salesenv.customers, salesenv.rewards, salesenv.agents\n"
        "env = salesenv.make('SalesLLM-en-easy'); env.reset(seed=0); env.step('Hello')",
        ("torch", "transformers", "vllm", "openai"),
    )
