"""TRL's vLLM server mode (`train.vllm_mode=server`): the early checks of
`salesenv.training.server`, and `examples/train_grpo.py` stopping before the model loads.

A stand-in HTTP server answers `/health` where a test needs a server that is up; the real
`trl vllm-serve` cannot complete a training step on this CPU machine (see the README, "On
GPUs": TRL syncs weights over NCCL and refuses a non-CUDA trainer device).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from omegaconf import OmegaConf

from salesenv.training.server import (
    VLLMServerError,
    check_policy_server,
    serve_command,
    server_is_up,
    wait_for_server,
)
from salesenv.training.settings import TrainConf, VLLMMode
from tests.test_examples import ROOT


def _free_port() -> int:
    """A port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@contextmanager
def _health_server(port: int = 0, delay: float = 0.0) -> Iterator[int]:
    """Serves 200 on /health at 127.0.0.1:port after `delay` seconds; yields the port."""
    if port == 0:
        port = _free_port()
    servers: list[ThreadingHTTPServer] = []

    def serve() -> None:
        time.sleep(delay)
        server = ThreadingHTTPServer(("127.0.0.1", port), _Health)
        servers.append(server)
        server.serve_forever(poll_interval=0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        deadline = time.monotonic() + 5
        while not servers and time.monotonic() < deadline:
            time.sleep(0.05)
        for server in servers:
            server.shutdown()
            server.server_close()
        thread.join(timeout=5)


def _train(port: int, *, timeout: float = 0.0, **overrides) -> TrainConf:
    train = OmegaConf.structured(TrainConf)
    train.policy_model = "tiny"
    train.use_vllm = True
    train.vllm_mode = VLLMMode.server
    train.vllm_server_host = "127.0.0.1"
    train.vllm_server_port = port
    train.vllm_server_timeout = timeout
    for key, value in overrides.items():
        setattr(train, key, value)
    return train


def test_defaults_match_trl_grpo_config():
    train = OmegaConf.structured(TrainConf)
    # TRL 1.16 GRPOConfig: vllm_server_host "0.0.0.0", port 8000, timeout 240 s.
    assert (train.vllm_server_host, train.vllm_server_port) == ("0.0.0.0", 8000)
    assert train.vllm_server_timeout == 240.0


def test_a_server_that_is_not_up_names_the_settings_and_the_command():
    port = _free_port()
    started = time.monotonic()
    with pytest.raises(VLLMServerError) as excinfo:
        check_policy_server(_train(port), cuda_available=True)
    assert time.monotonic() - started < 10
    message = str(excinfo.value)
    assert f"http://127.0.0.1:{port}/health" in message
    assert f"train.vllm_server_host=127.0.0.1, train.vllm_server_port={port}" in message
    assert "train.vllm_server_timeout=0 s" in message
    assert f"trl vllm-serve --model tiny --host 127.0.0.1 --port {port}" in message


def test_the_probe_waits_up_to_the_timeout_for_a_server_that_is_starting():
    port = _free_port()
    assert not server_is_up("127.0.0.1", port)
    started = time.monotonic()
    assert not wait_for_server("127.0.0.1", port, total_timeout=1.0)
    assert 1.0 <= time.monotonic() - started < 10
    with _health_server(port, delay=1.0):
        assert wait_for_server("127.0.0.1", port, total_timeout=30.0)
        assert server_is_up("127.0.0.1", port)


def test_a_server_that_answers_but_no_cuda_device_is_refused():
    with _health_server() as port:
        with pytest.raises(VLLMServerError, match=r"train.vllm_mode=server needs a CUDA device"):
            # A loaded machine may be slow to answer one probe: allow a few.
            check_policy_server(_train(port, timeout=30.0), cuda_available=False)
        check_policy_server(_train(port, timeout=30.0), cuda_available=True)  # up, a GPU: passes


@pytest.mark.parametrize(
    "overrides",
    [{"use_vllm": False}, {"vllm_mode": VLLMMode.colocate}],
    ids=["no-vllm", "colocate"],
)
def test_other_modes_never_probe(overrides):
    check_policy_server(_train(_free_port(), **overrides), cuda_available=False)


def test_serve_command_quotes_paths():
    assert serve_command("/models/my policy", "0.0.0.0", 8000) == (
        "trl vllm-serve --model '/models/my policy' --host 0.0.0.0 --port 8000"
    )


@pytest.mark.slow
def test_train_grpo_stops_before_loading_the_policy(tmp_path):
    """The whole script: the server settings reach the check, which runs before the policy
    is loaded and evaluated (no "before training" line)."""
    port = _free_port()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_grpo.py"),
            "debug=train_tiny",
            "train.use_vllm=true",
            "train.vllm_mode=server",
            "train.vllm_server_host=127.0.0.1",
            f"train.vllm_server_port={port}",
            "train.vllm_server_timeout=0",
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "VLLMServerError" in result.stderr
    assert f"train.vllm_server_port={port}" in result.stderr
    assert f"trl vllm-serve --model tiny --host 127.0.0.1 --port {port}" in result.stderr
    assert "before training" not in result.stdout


def _gpu_grpo():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_grpo", ROOT / "benchmarks" / "gpu_grpo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_grpo"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_gpu_benchmark_exits_cleanly_without_cuda(capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    bench = _gpu_grpo()
    assert bench.main(["--policy", "/models/p", "--customer", "/models/c", "--steps", "1"]) == 0
    assert "needs a CUDA GPU" in capsys.readouterr().out


def test_gpu_benchmark_times_steps_and_rollouts():
    bench = _gpu_grpo()
    # Two steps: the first runs 0..10 s with a 6 s rollout, the second 10..14 s with 1 s.
    timings = bench.Timings(train_start=0.0, step_ends=[10.0, 14.0], rollouts=[(0, 6), (10, 11)])
    assert timings.per_step() == [(10.0, 6), (4.0, 1)]
    args = bench.argparse.Namespace(
        policy="p", customer="c", num_generations=8, language="en", difficulty="hard"
    )
    report = bench.table(timings, args)
    assert "| 1 | 10.00 | 6.00 | 60% |" in report and "| 2 | 4.00 | 1.00 | 25% |" in report
    assert "| all (2) | 0.143 | 50% |" in report  # 2 steps in 14 s, 7 s of rollouts
    assert "| without the first (1) | 0.250 | 25% |" in report


def test_gpu_benchmark_overrides_select_colocated_vllm_and_the_vllm_customer(tmp_path):
    bench = _gpu_grpo()
    args = bench.argparse.Namespace(
        policy="/m/p", customer="/m/c", steps=3, num_generations=4, batch=0,
        policy_gpu_memory=0.2, customer_gpu_memory=0.3, max_model_len=4096,
        language="zh", difficulty="hard", eval_episodes=1, extra=["env.max_rounds=6"],
    )  # fmt: skip
    found = bench.overrides(args, tmp_path)
    for expected in (
        "train.use_vllm=true",
        "train.vllm_mode=colocate",
        "customer=vllm",
        "customer.model=/m/c",
        "train.policy_model=/m/p",
        "train.per_device_train_batch_size=4",
        "train.max_steps=3",
        f"hydra.run.dir={tmp_path}",
    ):
        assert expected in found
    assert found[-1] == "env.max_rounds=6"
    # The overrides compose against the real config (types and option names are right).
    from hydra import compose, initialize_config_dir

    import salesenv.config  # noqa: F401 - registers the schemas the YAML files extend

    with initialize_config_dir(str(ROOT / "conf"), version_base=None):
        cfg = compose("train_grpo", [o for o in found if not o.startswith("hydra.")])
    assert cfg.train.use_vllm and cfg.train.vllm_mode == VLLMMode.colocate
    assert cfg.customer.model == "/m/c" and cfg.customer.gpu_memory_utilization == 0.3
    assert cfg.train.vllm_max_model_length == 4096 and cfg.env.max_rounds == 6
