"""The LLM customer backends for real, on the tiny offline model (SmolLM2-135M).

The tiny model is not a credible customer; these tests check the code paths: loading,
batching, seeding, the shared protocol and the env loop. `make test` and CI run them;
`pytest -m "not llm"` skips them locally.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.llm

from salesenv.customers import CustomerRequest  # noqa: E402
from salesenv.customers.chat import SamplingConfig  # noqa: E402
from salesenv.dialogue import Decision, Turn  # noqa: E402
from salesenv.scenarios import ScenarioSampler  # noqa: E402

SAMPLING = SamplingConfig(max_new_tokens=24, max_regenerations=1)
# Small and explicit, so that the engine fits on a shared 2-core CI machine: on CPU, vLLM
# reserves gpu_memory_utilization of the NUMA node's memory and profiles activations for
# max_num_batched_tokens tokens (which must cover a whole batch's prompts on vllm-cpu).
VLLM_CPU_SETTINGS = {
    "dtype": "float32",
    "max_model_len": 1024,
    "max_num_seqs": 4,
    "max_num_batched_tokens": 4096,
    "gpu_memory_utilization": 0.3,
}


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    pytest.importorskip("transformers")
    from salesenv.customers.tiny_model import tiny_model_dir

    return tiny_model_dir()


def _requests(n, must_decide=False):
    scenario = ScenarioSampler("en", "medium").sample(np.random.default_rng(1))
    turns = (
        Turn("customer", scenario.trigger),
        Turn("salesperson", "Hello! What matters most to you?"),
    )
    return [
        CustomerRequest(f"c{i}", scenario, turns, seed=i, must_decide=must_decide) for i in range(n)
    ]


def _check_replies(replies, n):
    assert len(replies) == n
    for reply in replies:
        assert isinstance(reply.text, str) and reply.text.strip()
        assert reply.decision is None or isinstance(reply.decision, Decision)
        assert all(isinstance(v, int) and v > 0 for v in reply.flags.values())


def _episode_through_make_vec(customer, steps=2):
    import salesenv

    envs = salesenv.make_vec("SalesLLM-en-medium", num_envs=3, customer=customer)
    observations, _ = envs.reset(seed=0)
    assert all(isinstance(o, str) and o for o in observations)
    for _ in range(steps):
        observations, rewards, _, _, infos = envs.step(
            ("Hello! May I ask what matters most to you?",) * 3
        )
        assert all(isinstance(o, str) and o for o in observations)
        assert rewards.shape == (3,)
        assert "customer_flags" in infos and infos["_round"].all()
    envs.close()


def test_transformers_backend(tiny_dir):
    from salesenv.customers.transformers_backend import TransformersChat

    customer = TransformersChat(str(tiny_dir), sampling=SAMPLING, batch_size=4)
    requests = _requests(3)
    first = customer.respond(requests)
    _check_replies(first, 3)
    assert customer.respond(requests) == first  # seeded per request
    alone = customer.respond(requests[:1])[0]
    assert alone.text == first[0].text  # independent of the batch it is in
    _episode_through_make_vec(customer)
    decided = customer.respond(_requests(2, must_decide=True))
    assert all(r.decision is not None or r.flags.get("undecided") == 1 for r in decided)


def test_transformers_backend_loads_gguf_directly():
    pytest.importorskip("gguf")
    from salesenv.customers.tiny_model import tiny_model_gguf
    from salesenv.customers.transformers_backend import TransformersChat

    customer = TransformersChat(str(tiny_model_gguf()), sampling=SAMPLING)
    _check_replies(customer.respond(_requests(1)), 1)


def test_transformers_backend_reports_a_missing_model(tmp_path):
    from salesenv.customers import CustomerBackendError
    from salesenv.customers.transformers_backend import TransformersChat

    with pytest.raises(CustomerBackendError, match="cannot load model"):
        TransformersChat(str(tmp_path / "no-such-model"))


def test_vllm_backend(tiny_dir):
    pytest.importorskip("vllm")
    from salesenv.customers.vllm_backend import VLLMChat

    customer = VLLMChat(str(tiny_dir), sampling=SAMPLING, **VLLM_CPU_SETTINGS)
    try:
        requests = _requests(4)
        first = customer.respond(requests)
        _check_replies(first, 4)
        assert customer.respond(requests) == first  # seeded per request
        _episode_through_make_vec(customer)
    finally:
        customer.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def vllm_server(tiny_dir):
    """`vllm serve` on 127.0.0.1 with the tiny model; stopped by the test itself."""
    pytest.importorskip("vllm")
    port = _free_port()
    log = open(tiny_dir.parent / f"vllm-serve-{port}.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        # The module, not the `vllm` command: vllm-cpu's command looks up the version of a
        # distribution named "vllm" and fails.
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(tiny_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--served-model-name",
            "tiny-customer",
            "--dtype",
            VLLM_CPU_SETTINGS["dtype"],
            "--max-model-len",
            str(VLLM_CPU_SETTINGS["max_model_len"]),
            "--max-num-seqs",
            str(VLLM_CPU_SETTINGS["max_num_seqs"]),
            "--max-num-batched-tokens",
            str(VLLM_CPU_SETTINGS["max_num_batched_tokens"]),
            "--gpu-memory-utilization",
            str(VLLM_CPU_SETTINGS["gpu_memory_utilization"]),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 540
        while True:
            assert process.poll() is None, f"vllm serve exited early; see {log.name}"
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"vllm serve did not come up; see {log.name}"
            time.sleep(2)
        yield f"{url}/v1"
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def test_openai_backend_against_vllm_serve(vllm_server):
    from salesenv.customers.openai_backend import OpenAIChat

    customer = OpenAIChat(
        "tiny-customer", base_url=vllm_server, max_concurrency=4, sampling=SAMPLING
    )
    requests = _requests(4)
    first = customer.respond(requests)
    _check_replies(first, 4)
    assert customer.respond(requests) == first  # vLLM honours per-request seeds
    _episode_through_make_vec(customer)


def test_switching_the_customer_by_config(tiny_dir):
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    conf = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        cfg = compose(
            config_name="evaluate",
            overrides=[
                "customer=transformers",
                f"customer.model={tiny_dir}",
                "customer.sampling.max_new_tokens=16",
            ],
        )
    customer = instantiate(cfg.customer)
    assert customer.describe()["model"] == str(tiny_dir)
    _check_replies(customer.respond(_requests(2)), 2)
