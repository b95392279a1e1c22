"""The OpenAI-compatible backend against a scripted local server: retries, errors, concurrency."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

pytest.importorskip("openai")

from salesenv.customers import CustomerBackendError, CustomerRequest
from salesenv.customers.chat import SamplingConfig
from salesenv.customers.openai_backend import OpenAIChat
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.scenarios import ScenarioSampler
from tests.fake_openai_server import FakeOpenAIServer


def _requests(n, language="en"):
    scenario = ScenarioSampler(language, "hard").sample(np.random.default_rng(0))
    turns = (
        Turn("customer", scenario.trigger),
        Turn("salesperson", "Hello, may I ask what you need?"),
    )
    return [CustomerRequest(f"c{i}", scenario, turns, seed=i) for i in range(n)]


def _customer(url, **kwargs):
    kwargs.setdefault("backoff", 0.01)
    return OpenAIChat("tiny-customer", base_url=url, api_key="test-key", **kwargs)


def test_replies_go_through_the_shared_protocol():
    with FakeOpenAIServer() as server:
        (reply,) = _customer(server.base_url).respond(_requests(1))
    assert reply.text == "What does it cost?" and reply.decision is Decision.MAYBE
    body = server.bodies[0]
    assert body["model"] == "tiny-customer"
    assert body["temperature"] == 0.8 and body["top_p"] == 0.99
    assert body["messages"][0]["role"] == "system" and body["messages"][1]["role"] == "user"


def test_transient_errors_are_retried():
    with FakeOpenAIServer(statuses=[500, 429, 503]) as server:
        (reply,) = _customer(server.base_url, max_retries=4).respond(_requests(1))
    assert reply.text == "What does it cost?"
    assert len(server.bodies) == 4


def test_persistent_errors_raise_a_clear_error():
    with FakeOpenAIServer(statuses=[503] * 10) as server:
        customer = _customer(server.base_url, max_retries=2)
        with pytest.raises(CustomerBackendError, match="after 3 tries") as err:
            customer.respond(_requests(1))
    message = str(err.value)
    assert server.base_url in message and "tiny-customer" in message and "running" in message
    assert len(server.bodies) == 3


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(status):
    with (
        FakeOpenAIServer(statuses=[status] * 5) as server,
        pytest.raises(CustomerBackendError, match=f"HTTP {status}"),
    ):
        _customer(server.base_url).respond(_requests(1))
    assert len(server.bodies) == 1


def test_unreachable_server():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    customer = _customer(f"http://127.0.0.1:{port}/v1", max_retries=1, timeout=2)
    with pytest.raises(CustomerBackendError, match=f"127.0.0.1:{port}"):
        customer.respond(_requests(1))


def test_timeouts_are_retried_then_reported():
    with FakeOpenAIServer(delay=1.5) as server:
        customer = _customer(server.base_url, max_retries=1, timeout=0.3)
        with pytest.raises(CustomerBackendError, match="APITimeoutError"):
            customer.respond(_requests(1))
    assert len(server.bodies) == 2


def test_requests_go_out_concurrently_within_the_limit():
    with FakeOpenAIServer(delay=0.3, reply="Reply {n}, what is the fee?") as server:
        customer = _customer(server.base_url, max_concurrency=4)
        start = time.perf_counter()
        replies = customer.respond(_requests(12))
        elapsed = time.perf_counter() - start
    assert len(replies) == 12
    assert server.max_in_flight == 4
    assert elapsed < 12 * 0.3 * 0.75  # well under one-by-one (3.6 s), with room for a busy CI
    assert len({b["seed"] for b in server.bodies}) == 12  # each conversation seeded apart


def test_role_inversion_from_the_server_is_regenerated():
    with FakeOpenAIServer(reply="Hello! How can I help you today?") as server:
        customer = _customer(server.base_url, sampling=SamplingConfig(max_regenerations=2))
        (reply,) = customer.respond(_requests(1))
    assert reply.flags["role_inversion"] == 3 and reply.flags["fallback"] == 1
    assert len(server.bodies) == 3


def test_configuration_errors(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        OpenAIChat("m")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert OpenAIChat("m").base_url == "http://127.0.0.1:1/v1"


def _salesperson_info(scenario):
    messages = [
        {"role": "system", "content": scenario.salesperson_prompt},
        {"role": "user", "content": scenario.trigger},
    ]
    return {"messages": messages, "round": 1, "scenario_id": scenario.id}


def test_errors_name_the_role_the_backend_plays():
    from salesenv.agents import LLMSalesAgent
    from salesenv.rewards.llm_graders import LLMJudge

    requests = _requests(1)
    dialogue = Dialogue(requests[0].scenario, requests[0].turns)
    with FakeOpenAIServer(statuses=[503] * 20) as server:
        backend = _customer(server.base_url, max_retries=0)
        agent = LLMSalesAgent(backend)
        with pytest.raises(CustomerBackendError, match=r"^openai salesperson: no answer from"):
            agent.act("Hi", _salesperson_info(requests[0].scenario))
        # The same backend as the customer's model and as a grader (`backend: null`).
        with pytest.raises(CustomerBackendError, match=r"^openai grader: no answer from"):
            LLMJudge(backend, "tiny", max_retries=0).judge_batch([dialogue])
        assert backend.role == "customer"  # each user's role ends with its call
        with pytest.raises(CustomerBackendError, match=r"^openai customer: no answer from"):
            backend.respond(requests)
    with FakeOpenAIServer(statuses=[404]) as server:
        agent = LLMSalesAgent(_customer(server.base_url))
        with pytest.raises(
            CustomerBackendError, match=r"^openai salesperson: the server at .* 404"
        ):
            agent.act("Hi", _salesperson_info(requests[0].scenario))


def test_chat_template_kwargs_travel_in_the_request_body():
    with FakeOpenAIServer() as server:
        _customer(server.base_url).respond(_requests(1))
        _customer(server.base_url, chat_template_kwargs={"enable_thinking": True}).respond(
            _requests(1)
        )
        _customer(server.base_url, chat_template_kwargs=None).respond(_requests(1))
    default, on, off = server.bodies
    assert default["chat_template_kwargs"] == {"enable_thinking": False}
    assert on["chat_template_kwargs"] == {"enable_thinking": True}
    assert "chat_template_kwargs" not in off


def test_a_server_that_refuses_chat_template_kwargs_is_asked_without_them():
    with FakeOpenAIServer(reject_fields=["chat_template_kwargs"]) as server:
        customer = _customer(server.base_url, max_concurrency=1)
        with pytest.warns(UserWarning, match=r"does not take chat_template_kwargs.*=None"):
            replies = customer.respond(_requests(3))
        customer.respond(_requests(1))
    assert [r.text for r in replies] == ["What does it cost?"] * 3
    # One refusal, then every request (the refused one again first) goes without the field.
    assert "chat_template_kwargs" in server.bodies[0]
    assert len(server.bodies) == 5
    assert not any("chat_template_kwargs" in b for b in server.bodies[1:])


def test_a_client_error_says_how_to_stop_sending_chat_template_kwargs():
    with (
        FakeOpenAIServer(statuses=[400]) as server,
        pytest.raises(CustomerBackendError, match=r"HTTP 400.*chat_template_kwargs=None"),
    ):
        _customer(server.base_url).respond(_requests(1))
    with (
        FakeOpenAIServer(statuses=[400]) as server,
        pytest.raises(CustomerBackendError, match=r"request limits\.$"),
    ):
        _customer(server.base_url, chat_template_kwargs=None).respond(_requests(1))


def test_reasoning_from_the_server_is_stripped_and_counted():
    reply = "<think>\nThe customer wants the fee. [DECISION: buy]\n</think>\n\nWhat is the fee?"
    with FakeOpenAIServer(reply=reply) as server:
        (answer,) = _customer(server.base_url).respond(_requests(1))
    assert answer.text == "What is the fee?" and answer.decision is None
    assert answer.flags == {"thinking_stripped": 1}
