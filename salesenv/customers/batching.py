"""`BatchingCustomer`: many threads' customer calls answered in few batched backend calls.

`salesenv serve` plays every session in a thread of its own, and each session asks for one
reply at a time. Backends answer a batch in about the time of one request (an LLM engine
generates the batch together), so the server wraps its backend in a `BatchingCustomer`:
calls that arrive within a short collection window are coalesced into one
`backend.respond(batch)` call, and each caller gets its own replies back.

    customer = BatchingCustomer(PersonaCustomer(), window_s=0.005, max_batch=64)
    replies = customer.respond([request])  # from any thread; blocks until answered
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest


class _Ticket:
    """One caller's requests, and where its replies (or the batch's error) land."""

    __slots__ = ("done", "error", "replies", "requests")

    def __init__(self, requests: list[CustomerRequest]) -> None:
        self.requests = requests
        self.replies: list[CustomerReply] | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingCustomer(CustomerLM):
    """Coalesces concurrent `respond` calls into batched calls of a wrapped backend.

    Whichever waiting caller finds no batch being collected collects the next one: it
    waits up to `window_s` for more calls (or until `max_batch` requests are waiting),
    then answers all of them with one `backend.respond` call. Replies equal the backend's
    for the same requests: each caller gets the replies of its own requests, in order. If
    the backend raises, every caller of that batch gets the exception; the next batch is
    collected as usual. Calls to the backend (`respond` and `release`) never overlap, so a
    backend that is not thread-safe can be shared by many threads.

    Args:
        backend: The customer backend to wrap.
        window_s: How long a batch waits for more calls after its first one (seconds).
        max_batch: Requests per backend call at most (a single call with more requests is
            passed on whole).
        lock: The lock held around every backend call; pass one to also serialise other
            users of the same model (such as a judge sharing it). Default: a lock of its own.

    Raises:
        ValueError: If `window_s` is negative or `max_batch` < 1.
    """

    def __init__(
        self,
        backend: CustomerLM,
        window_s: float = 0.005,
        max_batch: int = 64,
        lock: threading.RLock | None = None,
    ) -> None:
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0 seconds, got {window_s}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.backend = backend
        self.window_s = window_s
        self.max_batch = max_batch
        self.name = backend.name
        self.deterministic = backend.deterministic
        self._backend_lock = lock or threading.RLock()
        self._cond = threading.Condition()
        self._waiting: deque[_Ticket] = deque()
        self._waiting_requests = 0
        self._collecting = False

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        """The backend's replies to `requests`, answered in a batch with other threads'."""
        if not requests:
            return []
        ticket = _Ticket(list(requests))
        with self._cond:
            self._waiting.append(ticket)
            self._waiting_requests += len(ticket.requests)
            self._cond.notify_all()
        while True:
            with self._cond:
                while not ticket.done and self._collecting:
                    self._cond.wait()
                if ticket.done:
                    break
                self._collecting = True
            self._collect_and_answer()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.replies is not None
        return ticket.replies

    def release(self, conversation_id: str) -> None:
        with self._backend_lock:
            self.backend.release(conversation_id)

    def describe(self) -> dict[str, str]:
        return self.backend.describe()

    def _collect_and_answer(self) -> None:
        """Waits out the collection window, takes a batch and answers it (the collector)."""
        batch: list[_Ticket] = []
        try:
            deadline = time.monotonic() + self.window_s
            with self._cond:
                while self._waiting_requests < self.max_batch:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                size = 0
                while self._waiting and (
                    not batch or size + len(self._waiting[0].requests) <= self.max_batch
                ):
                    ticket = self._waiting.popleft()
                    batch.append(ticket)
                    size += len(ticket.requests)
                self._waiting_requests -= size
            requests = [r for ticket in batch for r in ticket.requests]
            try:
                with self._backend_lock:
                    replies = self.backend.respond(requests)
                if len(replies) != len(requests):
                    raise RuntimeError(
                        f"customer backend {self.name!r} returned {len(replies)} replies to "
                        f"{len(requests)} requests"
                    )
            except BaseException as exc:  # every caller of the batch gets it
                for ticket in batch:
                    ticket.error = exc
            else:
                start = 0
                for ticket in batch:
                    ticket.replies = list(replies[start : start + len(ticket.requests)])
                    start += len(ticket.requests)
        finally:
            with self._cond:
                for ticket in batch:
                    ticket.done = True
                self._collecting = False
                self._cond.notify_all()
