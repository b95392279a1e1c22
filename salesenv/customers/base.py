"""The CustomerLM interface: batch first, one request per conversation."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.scenarios.scenario import Scenario


class CustomerBackendError(RuntimeError):
    """A customer backend failed in a way the user must fix (server, model, config)."""


@dataclass(frozen=True)
class CustomerRequest:
    """Asks the customer for its next turn in one conversation.

    Attributes:
        conversation_id: Identifies the conversation across calls; backends that keep
            state per conversation key it by this id.
        scenario: The scenario; backends build the customer's prompt from
            `scenario.customer_prompt` only.
        turns: The conversation so far, starting with the trigger sentence and ending with
            the salesperson's latest turn.
        seed: Seeds this reply's sampling, so equal requests give equal replies.
        must_decide: The conversation is at its round limit: the reply must carry a decision.
        earlier_sessions: Earlier sessions with the same customer, oldest first (long-horizon
            episodes). LLM backends need nothing more: the session's scenario already holds
            them in `customer_prompt`. The persona simulator replays them to remember.
        protocol: The conversation protocol's name (`salesenv.protocol`): under
            "salesllm-official" chat backends lay out the customer's messages as the
            public SalesLLM runner does.
    """

    conversation_id: str
    scenario: Scenario
    turns: tuple[Turn, ...]
    seed: int
    must_decide: bool = False
    earlier_sessions: tuple[Dialogue, ...] = ()
    protocol: str = "salesenv"


@dataclass(frozen=True)
class CustomerReply:
    """The customer's next turn.

    Attributes:
        text: What the customer says (decision tags and stage directions removed).
        decision: Set when the customer ends the conversation with this turn.
        flags: Counters of what the backend had to handle for this turn (for example
            "role_inversion", "regenerated", "fallback", "thinking_stripped": generations
            whose `<think>` reasoning was removed); all ints.
    """

    text: str
    decision: Decision | None = None
    flags: Mapping[str, int] = field(default_factory=dict)


class CustomerLM(abc.ABC):
    """A customer simulator: the environment's dynamics.

    Implementations answer many conversations in one call. They must not read the
    salesperson's private script (`scenario.salesperson_prompt`) to decide what to say;
    the persona simulator reads the product sheet only to check the salesperson's claims.
    """

    #: Short backend name written into results.
    name: str = "customer"
    #: Whether equal requests always give equal replies.
    deterministic: bool = False

    @abc.abstractmethod
    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        """Returns one reply per request, in order."""

    def release(self, conversation_id: str) -> None:  # noqa: B027 - optional hook
        """Forgets any state kept for a finished conversation."""

    def describe(self) -> dict[str, str]:
        """Backend name, model and version, written into every result."""
        return {"backend": self.name}
