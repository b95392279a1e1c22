"""`BatchingCustomer`: concurrent calls coalesced into batched backend calls, replies
unchanged, a batch's error reaching each of its callers."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.batching import BatchingCustomer
from salesenv.customers.persona import PersonaCustomer
from salesenv.dialogue import Turn
from salesenv.scenarios import ScenarioSampler

THREADS = 12


class RecordingCustomer(CustomerLM):
    """Wraps the persona customer, records each call's batch size, and fails on demand."""

    name = "recording"
    deterministic = True

    def __init__(self, delay_s: float = 0.02) -> None:
        self.inner = PersonaCustomer()
        self.delay_s = delay_s
        self.batch_sizes: list[int] = []
        self.fail_next = False
        self.inside = 0
        self.overlapped = False
        self.released: list[str] = []

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        self.inside += 1
        self.overlapped |= self.inside > 1
        try:
            self.batch_sizes.append(len(requests))
            time.sleep(self.delay_s)  # like an engine: a batch costs about one call
            if self.fail_next:
                self.fail_next = False
                raise RuntimeError("engine out of memory")
            return self.inner.respond(requests)
        finally:
            self.inside -= 1

    def release(self, conversation_id: str) -> None:
        self.released.append(conversation_id)

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": "persona-inside"}


def requests(count: int) -> list[CustomerRequest]:
    sampler = ScenarioSampler("en", "medium")
    out = []
    for i in range(count):
        scenario = sampler.sample(np.random.default_rng(i))
        turns = (
            Turn("customer", scenario.trigger),
            Turn("salesperson", f"Hello! How can I help you today? ({i})"),
        )
        out.append(CustomerRequest(f"conv-{i}", scenario, turns, seed=100 + i))
    return out


def call_from_threads(customer: CustomerLM, reqs: list[CustomerRequest]) -> list[object]:
    """Each request from a thread of its own, all started together; reply or exception."""
    results: list[object] = [None] * len(reqs)
    start = threading.Barrier(len(reqs))

    def call(i: int) -> None:
        start.wait()
        try:
            results[i] = customer.respond([reqs[i]])[0]
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(reqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_calls_are_coalesced_and_replies_equal_the_backends():
    reqs = requests(THREADS)
    backend = RecordingCustomer()
    customer = BatchingCustomer(backend, window_s=0.05, max_batch=64)
    replies = call_from_threads(customer, reqs)
    assert sum(backend.batch_sizes) == THREADS
    assert len(backend.batch_sizes) < THREADS / 2  # fewer, larger calls
    assert max(backend.batch_sizes) >= 4
    assert not backend.overlapped  # backend calls never overlap
    assert replies == PersonaCustomer().respond(reqs)  # each caller got its own reply


def test_max_batch_bounds_each_backend_call():
    reqs = requests(THREADS)
    backend = RecordingCustomer()
    customer = BatchingCustomer(backend, window_s=0.05, max_batch=5)
    replies = call_from_threads(customer, reqs)
    assert max(backend.batch_sizes) <= 5
    assert sum(backend.batch_sizes) == THREADS
    assert replies == PersonaCustomer().respond(reqs)


def test_a_failing_batch_reaches_each_caller_and_the_next_batch_works():
    reqs = requests(6)
    backend = RecordingCustomer()
    customer = BatchingCustomer(backend, window_s=0.2, max_batch=6)
    backend.fail_next = True
    results = call_from_threads(customer, reqs)
    assert len(backend.batch_sizes) == 1  # one batch of all six, failed
    assert all(isinstance(r, RuntimeError) and "out of memory" in str(r) for r in results)
    again = call_from_threads(customer, reqs)
    assert again == PersonaCustomer().respond(reqs)


def test_a_single_call_with_many_requests_and_the_passed_through_methods():
    reqs = requests(3)
    backend = RecordingCustomer(delay_s=0.0)
    customer = BatchingCustomer(backend, window_s=0.0)
    assert customer.respond(reqs) == PersonaCustomer().respond(reqs)
    assert customer.respond([]) == []
    assert backend.batch_sizes == [3]
    customer.release("conv-1")
    assert backend.released == ["conv-1"]
    assert customer.describe() == {"backend": "recording", "model": "persona-inside"}
    assert customer.deterministic is True and customer.name == "recording"


@pytest.mark.parametrize(("window_s", "max_batch"), [(-1.0, 4), (0.01, 0)])
def test_bad_settings_are_refused(window_s, max_batch):
    with pytest.raises(ValueError, match=r"window_s|max_batch"):
        BatchingCustomer(PersonaCustomer(), window_s=window_s, max_batch=max_batch)
