"""Checks for TRL's vLLM server mode (`train.use_vllm=true train.vllm_mode=server`).

In server mode TRL's `GRPOTrainer` sends the policy's generation requests to a separate
`trl vllm-serve` process and, after each optimiser step, pushes the new weights to it
through vLLM's NCCL weight-transfer engine. Both only fail once the trainer is built,
which in `examples/train_grpo.py` comes after loading the policy and the pre-training
evaluation; `check_policy_server` fails before any of that, with what to do.

Only the standard library is imported here.
"""

from __future__ import annotations

import shlex
import time
import urllib.error
import urllib.request
from typing import Any

#: Seconds one `/health` request may take.
PROBE_TIMEOUT = 2.0
#: Seconds between two probes while waiting for the server.
PROBE_INTERVAL = 2.0


class VLLMServerError(RuntimeError):
    """TRL's vLLM server mode cannot run: the server is not up, or there is no GPU."""


def server_url(host: str, port: int) -> str:
    """The base URL TRL's client builds from `vllm_server_host` and `vllm_server_port`."""
    return f"http://{host}:{port}"


def serve_command(model: str, host: str, port: int) -> str:
    """The `trl vllm-serve` command line that serves `model` where the trainer looks."""
    return shlex.join(["trl", "vllm-serve", "--model", model, "--host", host, "--port", str(port)])


def server_is_up(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the vLLM server at host:port answers 200 on `/health` within `timeout` s."""
    try:
        with urllib.request.urlopen(f"{server_url(host, port)}/health", timeout=timeout) as reply:
            return reply.status == 200
    except (OSError, ValueError):  # refused, timed out, HTTP error, malformed host
        return False


def wait_for_server(host: str, port: int, total_timeout: float) -> bool:
    """Probes `/health` until the server answers or `total_timeout` seconds have passed.

    Always probes at least once, so a `total_timeout` of 0 is a single probe.
    """
    deadline = time.monotonic() + max(total_timeout, 0.0)
    while True:
        if server_is_up(host, port, timeout=min(PROBE_TIMEOUT, max(total_timeout, 0.1))):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(PROBE_INTERVAL, left))


def check_policy_server(train: Any, *, cuda_available: bool) -> None:
    """Fails early when `train.vllm_mode=server` cannot work; does nothing otherwise.

    The server is probed first (for up to `train.vllm_server_timeout` seconds, like TRL's
    own client, so the trainer may be started while the server is still loading), then
    the GPU is required: TRL 1.16 syncs the trained weights into the server through
    vLLM's NCCL weight-transfer engine, which its client refuses on any non-CUDA device
    (`VLLMClient.init_communicator` raises NotImplementedError).

    Args:
        train: The `train` config group (`salesenv.training.settings.TrainConf`).
        cuda_available: Whether the training process has a CUDA device.

    Raises:
        VLLMServerError: If no server answers on `train.vllm_server_host` /
            `train.vllm_server_port` (the message shows the `trl vllm-serve` command that
            starts one), or if there is no CUDA device.
    """
    mode = getattr(train.vllm_mode, "value", train.vllm_mode)
    if not train.use_vllm or mode != "server":
        return
    host, port = str(train.vllm_server_host), int(train.vllm_server_port)
    timeout = float(train.vllm_server_timeout)
    if not wait_for_server(host, port, timeout):
        raise VLLMServerError(
            f"train.vllm_mode=server: no vLLM server answers at {server_url(host, port)}/health "
            f"(train.vllm_server_host={host}, train.vllm_server_port={port}, waited "
            f"train.vllm_server_timeout={timeout:g} s). Start one with the policy, e.g.\n"
            f"    {serve_command(str(train.policy_model), host, port)}\n"
            "on a GPU the trainer does not use, and wait for 'Application startup complete'; "
            "or set train.vllm_server_host / train.vllm_server_port to where yours listens, "
            "or use train.vllm_mode=colocate."
        )
    if not cuda_available:
        raise VLLMServerError(
            "train.vllm_mode=server needs a CUDA device in the training process: TRL syncs "
            "the trained weights into the server through vLLM's NCCL weight-transfer engine "
            "and refuses any other device. On a CPU machine use train.use_vllm=false "
            "(transformers generation)."
        )
