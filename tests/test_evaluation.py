"""salesenv.evaluation.evaluate and what it plays (salesenv.runner.select_*), and the output
folder's lock (salesenv.results.RunDirectory.lock)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

import pytest

import salesenv
from salesenv.agents import PassiveSalesAgent, ScriptedSalesAgent
from salesenv.customers import PersonaCustomer
from salesenv.evaluation import evaluate, play
from salesenv.ids import UnknownIdError
from salesenv.results import RunDirectory, RunDirInUseError, load_results
from salesenv.rewards import EpisodeScorer
from salesenv.runner import SelectionError, apply_variant, select_envs, select_suite


def test_apply_variant_adds_the_configs_variant_or_refuses_another():
    assert apply_variant("SalesLLM-en-hard", "longhorizon") == "SalesLLM-en-hard-longhorizon"
    assert apply_variant("salesenv/SalesLLM-zh-veryhard-v0", "") == "SalesLLM-zh-veryhard"
    assert apply_variant("SalesLLM-en-hard-portfolio", "") == "SalesLLM-en-hard-portfolio"
    assert apply_variant("SalesLLM-en-hard-portfolio", "portfolio") == "SalesLLM-en-hard-portfolio"
    with pytest.raises(SelectionError) as error:
        apply_variant("SalesLLM-en-hard-portfolio", "longhorizon")
    assert str(error.value) == (
        "SalesLLM-en-hard-portfolio is the portfolio variant but the config asks for "
        "env=longhorizon: drop env=longhorizon, or name SalesLLM-en-hard-longhorizon"
    )
    with pytest.raises(UnknownIdError, match="Unknown salesenv id 'SalesLLM-en-hrad'"):
        apply_variant("SalesLLM-en-hrad", "")


def test_select_suite_filters_limits_and_names_envs_by_language():
    suite = salesenv.load_suite("salesllm-1805")
    selection = select_suite(suite, variant="portfolio", difficulty="veryhard", limit=4)
    assert selection.suite == "salesllm-1805[very_hard]"
    assert selection.suite_hash == suite.filter(difficulty="very_hard").content_hash
    assert [(g.env_id, g.count) for g in selection.groups] == [
        ("SalesLLM-zh-mixed-portfolio", 4),
        ("SalesLLM-en-mixed-portfolio", 4),
    ]
    assert all(s.difficulty == "very_hard" for g in selection.groups for s in g.scenarios)
    whole = select_suite(suite, language="en", difficulty="mixed")
    assert [(g.env_id, g.count) for g in whole.groups] == [("SalesLLM-en-mixed", 805)]
    empty = suite.filter(language="zh").filter(language="en")
    with pytest.raises(SelectionError, match="has no scenario with these filters"):
        select_suite(empty)


def test_select_envs_samples_each_id_in_the_variant():
    selection = select_envs(["SalesLLM-zh-easy", "SalesLLM-en-easy"], episodes=5, variant="")
    assert selection.suite == "SalesLLM-zh-easy, SalesLLM-en-easy"
    assert selection.suite_hash is None
    assert [(g.env_id, g.scenarios, g.count) for g in selection.groups] == [
        ("SalesLLM-zh-easy", None, 5),
        ("SalesLLM-en-easy", None, 5),
    ]
    with pytest.raises(SelectionError, match="episodes must be at least 1, got 0"):
        select_envs(["SalesLLM-zh-easy"], episodes=0)


def test_evaluate_writes_the_folder_and_resumes(tmp_path):
    customer = PersonaCustomer()
    agents = [ScriptedSalesAgent(), PassiveSalesAgent()]
    selection = select_envs(["SalesLLM-en-hard"], episodes=3, variant="longhorizon")
    resumed = []

    def run():
        return evaluate(
            tmp_path,
            agents,
            customer,
            EpisodeScorer(),
            selection,
            env_kwargs={"max_rounds": 4, "max_followups": 1},
            num_envs=2,
            progress=False,
            on_resume=lambda done, total: resumed.append((done, total)),
        )

    result = run()
    assert result.complete and result.planned == 6 and result.finished == 6
    assert result.resumed == 0 and result.errors == [] and resumed == []
    records = load_results(tmp_path)
    assert sorted(r["key"] for r in records) == sorted(r["key"] for r in result.records)
    assert {r["env_id"] for r in records} == {"SalesLLM-en-hard-longhorizon"}
    assert all(r["variant_info"]["session"] <= 2 for r in records)
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["suite"] == "SalesLLM-en-hard-longhorizon" and manifest["max_rounds"] == 4
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is True and summary["planned"] == 6
    assert {(r["agent"], r["episodes"]) for r in summary["by_agent_language"]} == {
        ("scripted", 3),
        ("passive", 3),
    }
    assert not (tmp_path / ".lock").exists()
    again = run()
    assert again.resumed == 6 and resumed == [(6, 6)] and again.finished == 6


def test_play_gives_the_records_evaluate_writes(tmp_path):
    selection = select_suite(salesenv.load_suite("salesllm-1805"), language="zh", limit=3)
    agents = [ScriptedSalesAgent()]
    written = evaluate(
        tmp_path, agents, PersonaCustomer(), EpisodeScorer(), selection, seed=7, progress=False
    )
    kept = play(agents, selection, seed=7, num_envs=2)

    def by_key(records):
        return {r["key"]: {k: v for k, v in r.items() if k not in ("seconds", "schema")}
                for r in records}  # fmt: skip

    assert len(kept) == 3 and by_key(kept) == by_key(written.records)
    assert [r["seed"] for r in sorted(kept, key=lambda r: r["index"])] == [7, 8, 9]


def test_evaluate_refuses_agents_without_distinct_names(tmp_path):
    selection = select_envs(["SalesLLM-en-hard"], episodes=1)
    args = (PersonaCustomer(), EpisodeScorer(), selection)
    with pytest.raises(ValueError, match="no agent to evaluate"):
        evaluate(tmp_path, [], *args)
    with pytest.raises(ValueError, match=r"two agents share a name \(\['scripted', 'scripted'\]\)"):
        evaluate(tmp_path, [ScriptedSalesAgent(), ScriptedSalesAgent()], *args)
    assert not tmp_path.joinpath("run.json").exists()


def test_the_lock_file_goes_when_the_run_ends_and_a_held_folder_is_refused(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from salesenv.results import RunDirectory\n"
            "with RunDirectory(sys.argv[1]).lock():\n"
            "    print('held', flush=True); sys.stdin.readline()",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(RunDirInUseError, match=f"in use by a running eval \\(pid {holder.pid},"),
            RunDirectory(tmp_path).lock(),
        ):
            pass
        assert (tmp_path / ".lock").exists()
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert not (tmp_path / ".lock").exists()
    with pytest.raises(KeyboardInterrupt), RunDirectory(tmp_path).lock():
        assert f"pid {os.getpid()}" in (tmp_path / ".lock").read_text()
        raise KeyboardInterrupt
    assert not (tmp_path / ".lock").exists()


def test_a_lock_taken_on_a_just_removed_lock_file_is_taken_again(tmp_path, monkeypatch):
    # A run that ends removes its lock file; a run that opened that file just before would
    # lock the removed file, and a third run could then lock a new file at the same time.
    flock = fcntl.flock
    calls = []

    def flock_after_the_holder_left(handle, operation):
        if not calls:
            (tmp_path / ".lock").unlink()
        calls.append(operation)
        return flock(handle, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_the_holder_left)
    with RunDirectory(tmp_path).lock():
        assert len(calls) == 2 and (tmp_path / ".lock").exists()
        with pytest.raises(RunDirInUseError), RunDirectory(tmp_path).lock():
            pass
    assert not (tmp_path / ".lock").exists()
