"""A customer policy for the two-agent env: the persona simulator as the customer agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesenv.customers.persona import PersonaCustomer
from salesenv.dialogue import with_decision

if TYPE_CHECKING:
    from pettingzoo import AECEnv

    from salesenv.multiagent import SalesParallelEnv


class PersonaCustomerPolicy:
    """The persona simulator played through the customer agent's action (an oracle).

    On the customer's turn it answers the env's `pending_request` with a `PersonaCustomer`
    and returns the reply with its decision tag: the customer a fidelity-10 agent would be.
    It reads the env's scenario, so it is a reference policy, not a fair agent.

    Args:
        env: The env whose customer it plays (the Parallel env, or the AEC form).
    """

    name = "persona"

    def __init__(self, env: SalesParallelEnv | AECEnv) -> None:
        # Imported here so that `import salesenv.agents` does not load PettingZoo.
        from salesenv.multiagent import SalesParallelEnv

        self.env = env.unwrapped
        if not isinstance(self.env, SalesParallelEnv):
            raise TypeError(
                "PersonaCustomerPolicy needs a SalesParallelEnv (or its AEC form), "
                f"got {type(env).__name__}"
            )
        self._persona = PersonaCustomer()

    def act(self, observation: str, info: dict[str, Any]) -> str | None:
        """The customer's utterance (with its tag when it decides); None when off-turn."""
        request = self.env.pending_request
        if not info.get("to_act") or request is None:
            return None
        reply = self._persona.respond([request])[0]
        return with_decision(reply.text, reply.decision)
