"""The LLM customer backends for real, on the tiny offline models: SmolLM2-135M (from
PyPI) and a tiny random Qwen3 built locally (the released customer model's architecture
and chat template, `salesenv.customers.tiny_qwen3`).

The tiny models are not credible customers; these tests check the code paths: loading,
batching, seeding, the shared protocol, the thinking switch and the env loop. `make test`
and CI run them; `pytest -m "not llm"` skips them locally.
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
from salesenv.customers.chat import SamplingConfig, customer_messages  # noqa: E402
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


@pytest.fixture(scope="session")
def qwen3_dir() -> Path:
    pytest.importorskip("transformers")
    from salesenv.customers.tiny_qwen3 import tiny_qwen3_dir

    return tiny_qwen3_dir()


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


def test_transformers_backend_reports_an_unreachable_hub_id(monkeypatch):
    import huggingface_hub.constants

    from salesenv.customers import CustomerBackendError
    from salesenv.customers.model_path import check_model_path
    from salesenv.customers.transformers_backend import TransformersChat

    check_model_path("MultiSense/CustomerLM", "test", "weights")  # a hub id passes the check
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no hub: fail fast
    with pytest.raises(
        CustomerBackendError, match="cannot load model 'MultiSense/CustomerLM'"
    ) as err:
        TransformersChat("MultiSense/CustomerLM")
    assert "hf download MultiSense/CustomerLM" in str(err.value)
    assert "pass that local folder as the model" in str(err.value)


def _record_vllm_chat(customer) -> list[tuple[dict | None, list[str]]]:
    """Records the chat_template_kwargs and the rendered prompts of every `llm.chat` call."""
    calls = []
    chat = customer.llm.chat

    def recording(*args, **kwargs):
        outputs = chat(*args, **kwargs)
        calls.append((kwargs.get("chat_template_kwargs"), [o.prompt for o in outputs]))
        return outputs

    customer.llm.chat = recording
    return calls


def test_vllm_backend(qwen3_dir):
    """vLLM's engine on the tiny Qwen3: batching, per-request seeds, the env loop, and the
    thinking switch reaching the model's chat template."""
    pytest.importorskip("vllm")
    from salesenv.customers.vllm_backend import VLLMChat

    customer = VLLMChat(str(qwen3_dir), sampling=SAMPLING, **VLLM_CPU_SETTINGS)
    calls = _record_vllm_chat(customer)
    try:
        requests = _requests(4)
        first = customer.respond(requests)
        _check_replies(first, 4)
        assert customer.respond(requests) == first  # seeded per request
        messages = [customer_messages(r) for r in requests]
        raw = customer.generate(messages, [1, 2, 3, 4])
        assert customer.generate(messages, [1, 2, 3, 4]) == raw
        assert customer.generate(messages, [5, 6, 7, 8]) != raw
        # Thinking off by default: every prompt ends with Qwen3's empty think block.
        assert calls and all(kwargs == {"enable_thinking": False} for kwargs, _ in calls)
        no_thinking = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
        assert all(p.endswith(no_thinking) for _, prompts in calls for p in prompts)
        customer.chat_template_kwargs = {"enable_thinking": True}
        customer.generate(messages[:1], [1])
        kwargs, (prompt,) = calls[-1]
        assert kwargs == {"enable_thinking": True} and prompt.endswith("<|im_start|>assistant\n")
        customer.chat_template_kwargs = {"enable_thinking": False}
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

    import salesenv.config  # noqa: F401 - registers the schemas the YAML files extend

    conf = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        cfg = compose(
            config_name="evaluate",
            overrides=[
                "customer=transformers",
                f"customer.model={tiny_dir}",
                "customer.sampling.max_new_tokens=16",
                "customer.chat_template_kwargs.enable_thinking=true",
            ],
        )
    customer = instantiate(cfg.customer)
    assert customer.describe()["model"] == str(tiny_dir)
    assert customer.chat_template_kwargs == {"enable_thinking": True}
    _check_replies(customer.respond(_requests(2)), 2)
