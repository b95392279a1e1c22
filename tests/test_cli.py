"""The `salesenv` command: each command on tiny suites with the persona customer, resuming
after SIGKILL, and the errors a user can run into."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.cli import main
from salesenv.evaluation import run_episode
from salesenv.ids import MIXED, EnvId
from salesenv.results import ResultsError, RunDirectory, load_results
from tests.unreachable import unreachable_customer


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_eval_writes_one_record_per_episode_equal_to_a_single_env_run(tmp_path, capsys):
    out = tmp_path / "run"
    status, stdout, _ = run_cli(
        capsys,
        "eval",
        "--out",
        out,
        "--limit",
        3,
        "--num-envs",
        2,
        "--no-progress",
        "agent=scripted",
    )
    assert status == 0
    records = lines(out / "episodes.jsonl")
    assert len(records) == 6
    assert {r["language"] for r in records} == {"zh", "en"}
    assert len({r["key"] for r in records}) == 6
    assert all(r["schema"] == 1 and r["error"] is None for r in records)
    assert records[0]["versions"]["customer"]["backend"] == "persona"
    assert records[0]["versions"]["agent"]["class"] == "salesenv.agents.scripted.ScriptedSalesAgent"
    # The batched, slot-refilling runner plays exactly what one env plays alone.
    suite = salesenv.load_suite("salesllm-1805")
    for record in records:
        scenarios = suite.filter(language=record["language"]).scenarios
        env = salesenv.make(EnvId(record["language"], MIXED).short, scenarios=scenarios)
        alone = run_episode(
            env,
            ScriptedSalesAgent(),
            seed=record["seed"],
            options={"scenario_index": record["index"]},
        )
        assert record["scenario_id"] == alone.scenario_id == scenarios[record["index"]].id
        assert record["transcript"] == alone.transcript
        assert record["score"] == alone.score
        assert record["difficulty"] == alone.difficulty
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is True and summary["finished"] == 6
    assert "NaN" not in (out / "summary.json").read_text()  # one-scenario cells: null
    assert {row["language"] for row in summary["by_agent_language"]} == {"zh", "en"}
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["suite"] == "salesllm-1805" and manifest["agents"] == ["scripted"]
    assert "scripted" in stdout and "zh · persona" in stdout


def test_overrides_may_come_between_options(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "eval",
        "--out",
        out,
        "agent=passive",
        "--limit",
        1,
        "customer=persona",
        "--no-progress",
    ]
    assert run_cli(capsys, *argv)[0] == 0
    assert {r["agent"] for r in lines(out / "episodes.jsonl")} == {"passive"}
    with pytest.raises(SystemExit):
        main(["eval", "--out", str(out), "--limit", "1", "--bogus"])
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_rerun_resumes_and_plays_nothing_twice(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["eval", "--out", out, "--limit", 2, "--no-progress", "agent=scripted"]
    assert run_cli(capsys, *args)[0] == 0
    before = (out / "episodes.jsonl").read_bytes()
    status, stdout, _ = run_cli(capsys, *args)
    assert status == 0
    assert "4 of 4 episodes already done" in stdout
    assert (out / "episodes.jsonl").read_bytes() == before
    # A longer run in the same folder adds only the new episodes.
    args[args.index("--limit") + 1] = 3
    assert run_cli(capsys, *args)[0] == 0
    records = lines(out / "episodes.jsonl")
    assert len(records) == 6 and len({r["key"] for r in records}) == 6


@pytest.mark.slow
def test_sigkill_in_the_middle_then_resume_gives_the_uninterrupted_records(tmp_path):
    command = [sys.executable, "-m", "salesenv.cli", "eval", "--no-progress", "--num-envs", "8"]
    command += ["--suite", "SalesLLM-en-mixed", "--episodes", "1500", "agent=scripted"]
    killed = tmp_path / "killed"
    records_path = killed / "episodes.jsonl"
    process = subprocess.Popen([*command, "--out", str(killed)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if records_path.exists() and records_path.stat().st_size > 400_000:
            break
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = records_path.read_bytes().count(b"\n")
    assert 0 < written < 1500, "the run must be killed in the middle"

    resumed = subprocess.run([*command, "--out", str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "episodes already done" in resumed.stdout
    whole = tmp_path / "whole"
    subprocess.run([*command, "--out", str(whole)], check=True, capture_output=True)

    file_lines = records_path.read_text(encoding="utf-8").splitlines()
    keys = [json.loads(line)["key"] for line in file_lines]
    assert len(keys) == len(set(keys)) == 1500  # none lost, none run twice, no torn line left
    expected = {r["key"]: r for r in load_results(whole)}
    for record in load_results(killed):
        same = expected[record["key"]]
        assert record["transcript"] == same["transcript"]
        assert record["score"] == same["score"]


@pytest.mark.slow
def test_sigterm_stops_the_run_and_writes_the_summary(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "salesenv.cli", "eval", "--no-progress", "--out", str(out)]
    process = subprocess.Popen(
        [*command, "agent=scripted"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    records_path = out / "episodes.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (
        records_path.exists() and records_path.stat().st_size > 100_000
    ):
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "rerun the same command to resume" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False
    assert 0 < summary["finished"] == len(load_results(out)) < 1805
    assert not (out / ".lock").exists()


def test_an_interrupt_right_after_a_write_is_counted_in_the_summary(tmp_path, capsys, monkeypatch):
    # The signal can land between appending a batch and the in-memory bookkeeping; the
    # summary must still count exactly what the records file holds.
    append = RunDirectory.append
    calls = []

    def append_then_interrupt(self, records):
        append(self, records)
        calls.append(len(records))
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunDirectory, "append", append_then_interrupt)
    out = tmp_path / "run"
    status, _, err = run_cli(
        capsys, "eval", "--out", out, "--limit", 20, "--num-envs", 4, "--no-progress",
        "agent=scripted",
    )  # fmt: skip
    assert status == 130
    written = len(lines(out / "episodes.jsonl"))
    assert written == sum(calls) and 0 < written < 40
    summary = json.loads((out / "summary.json").read_text())
    assert summary["finished"] == written and summary["complete"] is False
    assert f"stopped: {written} of 40 episodes are saved" in err
    assert not (out / ".lock").exists()  # an interrupted run leaves no lock file either


def test_an_output_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    with RunDirectory(out).lock():
        status, _, err = run_cli(capsys, "eval", "--out", out, "--limit", 1, "agent=scripted")
    assert status == 1
    assert "in use by a running eval" in err and f"pid {os.getpid()}" in err
    assert not (out / "episodes.jsonl").exists()
    assert not (out / ".lock").exists()
    assert (
        run_cli(capsys, "eval", "--out", out, "--limit", 1, "--no-progress", "agent=scripted")[0]
        == 0
    )
    assert not (out / ".lock").exists()  # a finished run removes its lock file


def test_a_different_run_in_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        run_cli(capsys, "eval", "--out", out, "--limit", 1, "--no-progress", "agent=scripted")[0]
        == 0
    )
    status, _, err = run_cli(capsys, "eval", "--out", out, "--limit", 1, "agent=passive")
    assert status == 1
    assert "different run" in err and "agents: ['scripted'] then, ['passive'] now" in err


def test_malformed_suite_lines_are_reported_and_the_rest_runs(tmp_path, capsys):
    suite = tmp_path / "mine.jsonl"
    assert (
        run_cli(
            capsys, "scenarios", "export", "--suite", "SalesLLM-en-hard", "-n", 3, "--out", suite
        )[0]
        == 0
    )
    good = suite.read_text(encoding="utf-8").splitlines()
    broken = json.loads(good[1])
    del broken["trigger"]
    suite.write_text("\n".join([good[0], "{not json", json.dumps(broken), good[2]]) + "\n")
    out = tmp_path / "run"
    status, _, err = run_cli(
        capsys, "eval", "--out", out, "--suite", suite, "--no-progress", "agent=scripted"
    )
    assert status == 0
    assert "mine.jsonl line 2" in err and "mine.jsonl line 3" in err
    assert len(lines(out / "episodes.jsonl")) == 2


def test_a_suite_in_the_public_salesllm_format_runs(tmp_path, capsys):
    suite = tmp_path / "salesllm.jsonl"
    records = []
    for i, scenario in enumerate(salesenv.load_suite("salesllm-1805").filter(language="en")[:2]):
        records.append(
            {
                "id": i,
                "user_system_prompt": scenario.customer_prompt,
                "assistant_system_prompt": scenario.salesperson_prompt,
                "trigger_sentence_en": scenario.trigger,
            }
        )
    suite.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "run"
    args = ["eval", "--out", out, "--suite", suite, "--no-progress", "agent=scripted"]
    assert run_cli(capsys, *args)[0] == 0
    played = lines(out / "episodes.jsonl")
    assert len(played) == 2 and {r["language"] for r in played} == {"en"}
    # The product sheet is read from the prompt (salesenv.scenarios.official_product).
    assert all(r["category"] and r["score"]["final"] > 0 for r in played)


def test_an_unreadable_suite_file_is_a_usage_error(tmp_path, capsys):
    suite = tmp_path / "broken.jsonl.gz"
    suite.write_bytes(b"not gzip at all")
    status, _, err = run_cli(capsys, "eval", "--out", tmp_path / "r", "--suite", suite)
    assert status == 2 and "cannot read the suite file" in err


@pytest.mark.parametrize("variant,key", [("portfolio", "bought"), ("longhorizon", "session")])
def test_variants_record_their_extra_outcome(tmp_path, capsys, variant, key):
    out = tmp_path / variant
    args = ["eval", "--out", out, "--limit", 2, "--no-progress", "agent=scripted", f"env={variant}"]
    assert run_cli(capsys, *args)[0] == 0
    played = lines(out / "episodes.jsonl")
    assert len(played) == 4 and all(r["env_id"].endswith(f"-mixed-{variant}") for r in played)
    assert all(key in r["variant_info"] for r in played)


def test_an_env_id_suite_is_played_in_the_configs_variant(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["eval", "--out", out, "--suite", "SalesLLM-en-hard", "--episodes", 3, "--no-progress"]
    assert run_cli(capsys, *args, "agent=scripted", "env=longhorizon")[0] == 0
    played = lines(out / "episodes.jsonl")
    assert len(played) == 3
    assert {r["env_id"] for r in played} == {"SalesLLM-en-hard-longhorizon"}
    assert all("session" in r["variant_info"] for r in played)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["envs"] == ["SalesLLM-en-hard-longhorizon"]
    status, _, err = run_cli(
        capsys, "eval", "--out", tmp_path / "other", "--suite", "SalesLLM-en-hard-portfolio",
        "agent=scripted", "env=longhorizon",
    )  # fmt: skip
    assert status == 2
    assert (
        "SalesLLM-en-hard-portfolio is the portfolio variant but the config asks for "
        "env=longhorizon" in err
    )
    assert not (tmp_path / "other").exists()


def test_the_human_agent_is_sent_to_play(tmp_path, capsys):
    status, _, err = run_cli(capsys, "eval", "--out", tmp_path / "r", "agent=human")
    assert status == 2 and "salesenv play" in err


@pytest.mark.parametrize(
    "override,expected",
    [
        ("agent=scriptd", "Could not find 'agent/scriptd'"),
        ("customer=vllmm", "Could not find 'customer/vllmm'"),
        ("customer=vllm", "customer.model needs a value"),
        ("agent=llm", "agents.llm.backend.model needs a value"),
        ("env.difficulty=hardd", "hardd"),
    ],
)
def test_configuration_mistakes_exit_2_with_the_fix(tmp_path, capsys, override, expected):
    status, _, err = run_cli(capsys, "eval", "--out", tmp_path / "run", override)
    assert status == 2
    assert expected in err
    assert not (tmp_path / "run").exists()


def test_unknown_suite_names_the_choices(tmp_path, capsys):
    status, _, err = run_cli(capsys, "eval", "--out", tmp_path / "r", "--suite", "SalesLLM-zh-hrad")
    assert status == 2 and "not a built-in suite" in err and "salesenv list" in err


def test_unreachable_server_stops_the_run_with_the_url(tmp_path, capsys):
    url, customer = unreachable_customer()
    out = tmp_path / "run"
    status, _, err = run_cli(
        capsys, "eval", "--out", out, "--limit", 5, "--no-progress", "agent=scripted", *customer
    )
    assert status == 1
    assert url in err and "Check that the server is running" in err
    assert "rerun the same command" in err
    records = lines(out / "episodes.jsonl")
    assert len(records) == 5 and all(r["error"] for r in records)  # stopped after zh
    assert {r["language"] for r in records} == {"zh"}
    assert json.loads((out / "summary.json").read_text())["complete"] is False


def test_trials_repeat_scenarios_with_their_own_seeds(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["eval", "--out", out, "--suite", "SalesLLM-en-hard", "--episodes", 4, "--trials", 3]
    assert run_cli(capsys, *args, "--no-progress", "agent=scripted")[0] == 0
    records = lines(out / "episodes.jsonl")
    assert len(records) == 12
    assert len({r["seed"] for r in records}) == 12
    assert sorted({r["trial"] for r in records}) == [0, 1, 2]
    by_index = {}
    for r in records:
        by_index.setdefault(r["index"], set()).add(r["scenario_id"])
    # Sampled envs: the seed picks the scenario, so trials of an index differ in scenario.
    assert len(by_index) == 4


def test_report_writes_tables_and_plots(tmp_path, capsys):
    runs = []
    for agent in ("passive", "scripted"):
        out = tmp_path / agent
        assert (
            run_cli(capsys, "eval", "--out", out, "--limit", 6, "--no-progress", f"agent={agent}")[
                0
            ]
            == 0
        )
        runs.append(out)
    report = tmp_path / "report"
    status, stdout, _ = run_cli(capsys, "report", *runs, "--out", report)
    assert status == 0
    board = stdout.split("Score by difficulty")[0]
    assert board.index("| scripted") < board.index("| passive")  # ranked by mean score
    assert "en · persona" in board and "zh · persona" in board
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "## Leaderboard" in markdown and "![score vs turns](score_vs_turns.png)" in markdown
    for name in ("score_vs_turns.png", "score_by_difficulty.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_on_a_folder_without_results_says_so(tmp_path, capsys):
    status, _, err = run_cli(capsys, "report", tmp_path)
    assert status == 1 and "holds no episodes.jsonl" in err


def test_report_reads_the_records_examples_evaluate_writes(tmp_path, capsys):
    env = salesenv.make("SalesLLM-en-hard")
    old = [run_episode(env, ScriptedSalesAgent(), seed=i).as_dict() for i in range(3)]
    assert "schema" not in old[0]  # what examples/evaluate.py writes: schema 0
    (tmp_path / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    records = load_results(tmp_path)
    assert [r["schema"] for r in records] == [1, 1, 1]
    assert [r["score"] for r in records] == [r["score"] for r in old]
    status, stdout, _ = run_cli(capsys, "report", tmp_path, "--out", tmp_path / "report")
    assert status == 0 and "en · unrecorded customer" in stdout


def test_records_of_a_newer_schema_are_refused_and_a_torn_line_dropped(tmp_path):
    path = tmp_path / "episodes.jsonl"
    good = {"schema": 1, "key": "a|SalesLLM-en-hard|0|0", "scenario_id": "sc-1", "score": {}}
    path.write_text(json.dumps(good) + "\n" + '{"schema": 1, "key": "a|Sal')
    assert [r["key"] for r in load_results(path)] == [good["key"]]
    path.write_text(json.dumps({**good, "schema": 99}) + "\n")
    with pytest.raises(ResultsError, match="newer salesenv"):
        load_results(path)


def test_play_at_the_terminal(monkeypatch, capsys):
    turns = ["Hello! What matters most to you?", "It has a two-year warranty.", "Shall we?"] * 7
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(turns) + "\n"))
    status, stdout, _ = run_cli(
        capsys, "play", "--env", "SalesLLM-en-easy", "--seed", 3, "--no-prompt"
    )
    assert status == 0
    assert stdout.count("customer> ") >= 2
    assert "Customer decision:" in stdout and "final" in stdout


def test_scenarios_sample_show_export_and_stats(tmp_path, capsys):
    status, stdout, _ = run_cli(capsys, "scenarios", "sample", "--env", "SalesLLM-zh-hard", "-n", 2)
    assert status == 0
    sampled = stdout.strip().splitlines()
    assert len(sampled) == 2 and all(" zh  hard" in line for line in sampled)

    first = salesenv.load_suite("salesllm-1805")[0]
    status, stdout, _ = run_cli(capsys, "scenarios", "show", first.id[:12])
    assert status == 0 and first.customer_prompt in stdout and first.trigger in stdout

    out = tmp_path / "en-easy.jsonl.gz"
    args = ["scenarios", "export", "--out", out, "--language", "en", "--difficulty", "easy"]
    assert run_cli(capsys, *args)[0] == 0
    exported = salesenv.load_suite(out)
    assert len(exported) == 161
    assert {(s.language, s.difficulty) for s in exported} == {("en", "easy")}

    status, stdout, _ = run_cli(capsys, "scenarios", "stats", "--suite", "salesllm-1805")
    assert status == 0
    assert "1805 scenarios, 1805 distinct" in stdout
    assert "zh                             1000" in stdout

    status, stdout, _ = run_cli(capsys, "scenarios", "stats")
    assert status == 0 and "Combinations" in stdout


def test_list_shows_ids_suites_and_backends(capsys):
    status, stdout, _ = run_cli(capsys, "list")
    assert status == 0
    assert "Env ids (36)" in stdout and "SalesLLM-zh-hard-longhorizon" in stdout
    assert "salesllm-1805: 1000 zh, 805 en" in stdout
    for option in ("scripted", "llm_vllm", "persona", "openai", "embedded", "rubric"):
        assert f"  {option} " in stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "salesenv"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"salesenv {salesenv.__version__}"
