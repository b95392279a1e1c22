"""Customer simulators: the CustomerLM interface and its backends."""

from salesenv.customers.base import CustomerBackendError, CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.persona import PersonaCustomer

__all__ = [
    "CustomerBackendError",
    "CustomerLM",
    "CustomerReply",
    "CustomerRequest",
    "PersonaCustomer",
]
