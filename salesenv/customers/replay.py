"""Replays real conversations to a customer model, one real customer turn at a time.

`replay` asks the model for each real customer turn given the real history before it, so
that its words can be compared with the real customer's (see `salesenv.customers.fidelity`
for the measures).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from salesenv.customers.base import CustomerLM, CustomerRequest
from salesenv.dialogue import Decision, Turn
from salesenv.scenarios.scenario import Scenario


@dataclass(frozen=True)
class ReplayCase:
    """A real conversation to replay to a customer model.

    Attributes:
        id: The conversation's id (used as the request's conversation id).
        scenario: What the customer model is told (its `customer_prompt` and `trigger`).
        turns: The real conversation: the customer's opening (equal to `scenario.trigger`)
            first, then turns that alternate between salesperson and customer.
    """

    id: str
    scenario: Scenario
    turns: tuple[Turn, ...]

    def __post_init__(self) -> None:
        if not self.turns or self.turns[0].role != "customer":
            raise ValueError(
                f"replay case {self.id!r}: turns must start with the customer's opening turn"
            )

    @property
    def points(self) -> tuple[int, ...]:
        """Indices of the customer turns to generate: every customer turn after the
        opening that answers a salesperson turn."""
        return tuple(
            i
            for i in range(1, len(self.turns))
            if self.turns[i].role == "customer" and self.turns[i - 1].role == "salesperson"
        )


@dataclass(frozen=True)
class ReplayTurn:
    """One generated customer turn next to the real one at the same point.

    Attributes:
        index: Position of the real turn in `ReplayCase.turns`.
        reference: What the real customer said.
        generated: What the customer model said, given the real history before it.
        decision: The decision the model ended with, if any.
        flags: The reply's flags (guard detections, regenerations, ...).
    """

    index: int
    reference: str
    generated: str
    decision: Decision | None = None
    flags: Mapping[str, int] = field(default_factory=dict)


def replay(
    customer: CustomerLM,
    cases: Sequence[ReplayCase],
    seed: int = 0,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[ReplayTurn]]:
    """Asks a customer model for each real customer turn, given the real history before it.

    Requests are ordered by turn number, then by conversation, and sent in batches of
    `batch_size` across conversations, so that stateful backends see each conversation's
    turns in order and batched backends get full batches.

    Args:
        customer: The customer model.
        cases: The real conversations.
        seed: Seeds every request (each reply also mixes in its scenario and turn number).
        batch_size: Requests per `customer.respond` call.
        on_batch: Called with the number of replies after each call (for a progress bar).

    Returns:
        One list per case of its generated turns, in conversation order.

    Raises:
        ValueError: If `batch_size` is below 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    jobs = sorted(
        ((k, c, i) for c, case in enumerate(cases) for k, i in enumerate(case.points)),
        key=lambda job: (job[0], job[1]),
    )
    results: list[list[ReplayTurn]] = [[] for _ in cases]
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        requests = [
            CustomerRequest(
                conversation_id=cases[c].id,
                scenario=cases[c].scenario,
                turns=cases[c].turns[:i],
                seed=seed,
            )
            for _, c, i in chunk
        ]
        replies = customer.respond(requests)
        for (_, c, i), reply in zip(chunk, replies, strict=True):
            results[c].append(
                ReplayTurn(i, cases[c].turns[i].text, reply.text, reply.decision, reply.flags)
            )
        if on_batch is not None:
            on_batch(len(chunk))
    for case in cases:
        customer.release(case.id)
    return results
