"""GRPO training in several processes: group consistency and the group-size check.

The fast tests drive `salesenv.training.groups` with the scripted policy and fake tokenizer
of `tests.test_train_grpo`, laying out prompts over two simulated processes the way TRL
1.16 does (its RepeatSampler's stream of G consecutive copies, dealt in per-process
slices). The slow test runs `examples/train_grpo.py` under `accelerate launch` with two
CPU processes (gloo) for two steps.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from itertools import product
from types import SimpleNamespace

import pytest

from salesenv.training import env_reward
from salesenv.training.groups import (
    GroupCheck,
    GroupMismatchError,
    GroupSizeError,
    Played,
    TaggedRollout,
    check_group_batch,
    check_groups,
)
from tests.test_examples import ROOT
from tests.test_train_grpo import ENV_ID, rollout

A = Played(ENV_ID, 100, "scenario-a")
B = Played(ENV_ID, 101, "scenario-b")
C = Played(ENV_ID, 102, "scenario-c")


def trl_accepts(num_generations, per_device, processes, accumulation):
    """TRL 1.16's rule (GRPOConfig.__post_init__) with steps_per_generation left unset."""
    return num_generations >= 2 and (per_device * processes * accumulation) % num_generations == 0


# -- the group-size check (bad input) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("num_generations", "per_device", "processes", "accumulation"),
    list(product([2, 3, 4, 8], [1, 2, 3, 4], [1, 2, 4], [1, 2])),
)
def test_group_batch_check_matches_trl_rule(num_generations, per_device, processes, accumulation):
    args = (num_generations, per_device, processes, accumulation)
    if trl_accepts(*args):
        check_group_batch(*args)
        return
    with pytest.raises(GroupSizeError) as caught:
        check_group_batch(*args)
    message = str(caught.value)
    assert "train.num_generations" in message
    assert "train.per_device_train_batch_size" in message
    # The suggested per-device batch size is accepted.
    suggested = int(re.search(r"multiple of \d+ \(e\.g\. (\d+)\)", message).group(1))
    assert suggested >= per_device
    assert trl_accepts(num_generations, suggested, processes, accumulation)
    check_group_batch(num_generations, suggested, processes, accumulation)


@pytest.mark.slow
def test_group_batch_check_agrees_with_trl_grpo_config(tmp_path):
    """TRL itself (one process here) accepts exactly what the check accepts."""
    trl = pytest.importorskip("trl")
    for num_generations, per_device, accumulation in [(2, 2, 1), (3, 2, 1), (4, 2, 2), (4, 3, 1)]:
        try:
            check_group_batch(num_generations, per_device, 1, accumulation)
            ours = None
        except GroupSizeError as error:
            ours = error
        try:
            trl.GRPOConfig(
                output_dir=str(tmp_path),
                num_generations=num_generations,
                per_device_train_batch_size=per_device,
                gradient_accumulation_steps=accumulation,
                use_cpu=True,
                report_to="none",
            )
            theirs = None
        except ValueError as error:
            theirs = error
        assert (ours is None) == (theirs is None), (num_generations, per_device, ours, theirs)


def test_group_batch_message_says_what_to_change():
    with pytest.raises(GroupSizeError) as caught:
        check_group_batch(4, 3, num_processes=2)
    assert str(caught.value) == (
        "train.num_generations (4) must divide the completions generated per step, "
        "train.per_device_train_batch_size (3) x 2 process(es) x "
        "train.gradient_accumulation_steps (1) = 6, so that every GRPO group is whole: set "
        "train.per_device_train_batch_size to a multiple of 2 (e.g. 4) or "
        "train.num_generations to one of [2, 3, 6]"
    )


@pytest.mark.parametrize(("generations", "per_device"), [(1, 2), (0, 2), (2, 0)])
def test_group_batch_rejects_sizes_out_of_range(generations, per_device):
    with pytest.raises(GroupSizeError, match=r"train\.(num_generations|per_device_train_batch)"):
        check_group_batch(generations, per_device)


def test_train_grpo_stops_before_loading_the_model_on_a_bad_group_size(tmp_path):
    env = {**os.environ, "WORLD_SIZE": "2", "HYDRA_FULL_ERROR": "1"}
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_grpo.py"),
            "debug=train_2proc",
            "train.num_generations=4",
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert result.returncode != 0
    assert "GroupSizeError" in result.stderr
    assert "train.per_device_train_batch_size (1) x 2 process(es)" in result.stderr
    assert "a multiple of 2 (e.g. 2) or train.num_generations to one of [2]" in result.stderr
    assert "Loading weights" not in result.stdout + result.stderr


# -- the group check ---------------------------------------------------------------------------


def test_check_groups_counts_whole_consistent_groups():
    assert check_groups([A, A, B, B], 2) == 2
    assert check_groups([tuple(A)] * 4, 4) == 1


def test_check_groups_names_the_group_and_what_each_member_played():
    with pytest.raises(GroupMismatchError) as caught:
        check_groups([A, A, A, A, B, B], 3, rows_per_process=[3, 3])
    message = str(caught.value)
    assert "GRPO group 1 (rows 3-5 of the gathered batch) mixes scenarios" in message
    assert f"row 3 (process 1): {ENV_ID} seed 100 scenario scenario-a" in message
    assert f"row 4 (process 1): {ENV_ID} seed 101 scenario scenario-b" in message


def test_check_groups_rejects_a_partial_group():
    with pytest.raises(GroupMismatchError, match="3 completions, not whole groups"):
        check_groups([A, A, A], 2)


def test_a_different_scenario_with_the_same_seed_is_a_mismatch():
    with pytest.raises(GroupMismatchError, match="group 0"):
        check_groups([A, A._replace(scenario="other")], 2)


def played_fields(played):
    return {
        "played_env_id": [p.env_id for p in played],
        "played_seed": [p.seed for p in played],
        "played_scenario": [p.scenario for p in played],
    }


def two_processes(rank, other_rows):
    """A GroupCheck as process `rank` of 2, whose gather puts `other_rows` at the other rank."""
    check = GroupCheck(env_reward, num_generations=2)
    check.rank, check.processes = rank, 2
    check.gather = lambda local: [local, other_rows] if rank == 0 else [other_rows, local]
    return check


def test_group_check_returns_the_wrapped_rewards_and_records_the_step(caplog):
    check = two_processes(1, [A, A, B])
    state = SimpleNamespace(global_step=4)
    with caplog.at_level(logging.INFO, logger="salesenv.training.groups"):
        rewards = check(
            ["c1", "c2", "c3"],
            env_reward=[1.0, 2.5, 3.0],
            trainer_state=state,
            **played_fields([B, C, C]),
        )
    assert rewards == [1.0, 2.5, 3.0]
    assert check.steps == [5]
    assert check.__name__ == "env_reward"  # TRL's metric stays rewards/env_reward/mean
    assert "group check: step 5, process 1 of 2: 3 groups of 2 completions" in caplog.text


def test_group_check_catches_a_group_split_over_processes_that_played_two_scenarios():
    # Process 0 played (A, A, B); process 1's first row belongs to B's group but played A.
    check = two_processes(1, [A, A, B])
    with pytest.raises(GroupMismatchError) as caught:
        check(["x", "y", "z"], env_reward=[1.0, 1.0, 1.0], **played_fields([A, C, C]))
    message = str(caught.value)
    assert "group 1 (rows 2-3" in message
    assert "row 2 (process 0)" in message and "scenario scenario-b" in message
    assert "row 3 (process 1)" in message and "scenario scenario-a" in message
    assert check.steps == []


def test_group_check_needs_the_tagged_rollout():
    with pytest.raises(ValueError, match="TaggedRollout"):
        GroupCheck(env_reward, 2)(["x", "y"], env_reward=[1.0, 2.0])


def trl_layout(prompts, num_generations, per_device, processes):
    """What each process plays in one generation batch: TRL's RepeatSampler stream (each
    prompt G times in a row) cut into per-process slices of `per_device`."""
    stream = [p for p in prompts for _ in range(num_generations)]
    assert len(stream) == per_device * processes
    return [stream[r * per_device : (r + 1) * per_device] for r in range(processes)]


def test_real_rollouts_of_a_group_split_over_two_processes_pass_the_check():
    rows, _ = rollout()
    prompts = [r["prompt"] for r in rows]
    # G=2, per-device batch 3, 2 processes: process 0 plays (p0, p0, p1), process 1 (p1, p2, p2).
    slices = trl_layout(prompts, 2, per_device=3, processes=2)
    outputs = [TaggedRollout(rollout(rows)[1])(part) for part in slices]  # one per process
    played = [
        [Played(*t) for t in zip(*(o[k] for k in played_fields([])), strict=True)] for o in outputs
    ]
    assert [p.seed for p in played[0] + played[1]] == [rows[i]["seed"] for i in (0, 0, 1, 1, 2, 2)]
    assert all(p.scenario for p in played[0] + played[1])
    assert len({p.scenario for p in played[0] + played[1]}) == 3
    for rank in (0, 1):
        check = two_processes(rank, played[1 - rank])
        extra = {k: outputs[rank][k] for k in ("env_reward", *played_fields([]))}
        assert check(["c"] * 3, **extra) == outputs[rank]["env_reward"]
        assert check.steps == [1]
    # Had process 1 dealt its prompts in another order (another sampler seed), group 1 would
    # pair p1 on process 0 with p2 on process 1.
    wrong = TaggedRollout(rollout(rows)[1])([prompts[2], prompts[1], prompts[1]])
    with pytest.raises(GroupMismatchError, match=r"group 1 \(rows 2-3"):
        two_processes(1, played[0])(["c"] * 3, **{k: wrong[k] for k in played_fields([])})


# -- two processes for real --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.llm
@pytest.mark.slow
def test_train_grpo_on_two_cpu_processes_checks_every_group(tmp_path):
    pytest.importorskip("trl")
    pytest.importorskip("accelerate")
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes=2",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        f"--main_process_port={free_port()}",
        str(ROOT / "examples" / "train_grpo.py"),
        "debug=train_2proc",
        f"hydra.run.dir={tmp_path}",
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "true"}
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    for step, rank in product((1, 2), (0, 1)):
        assert f"group check: step {step}, process {rank} of 2: 1 groups of 2" in log
    # Only the main process reports and writes the summary.
    assert result.stdout.count("before training: mean final score") == 1
    assert result.stdout.count("after training:") == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 2
    assert summary["processes"] == 2
    assert summary["group_checks_per_process"] == [[1, 2], [1, 2]]
    assert len(summary["eval_before"]) == len(summary["eval_after"]) == 2
    assert len(summary["train_reward_per_step"]) == 2
