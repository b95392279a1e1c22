"""Agents (`salesenv.agents`): the sales-agent interface, baseline salespeople and a
customer policy for the two-agent env."""

from salesenv.agents.base import BatchSalesAgent, SalesAgent, product_facts
from salesenv.agents.customer_policy import PersonaCustomerPolicy
from salesenv.agents.human import HumanSalesAgent
from salesenv.agents.llm import LLMSalesAgent
from salesenv.agents.passive import PassiveSalesAgent
from salesenv.agents.random_agent import RandomSalesAgent
from salesenv.agents.scripted import ScriptedSalesAgent

__all__ = [
    "BatchSalesAgent",
    "HumanSalesAgent",
    "LLMSalesAgent",
    "PassiveSalesAgent",
    "PersonaCustomerPolicy",
    "RandomSalesAgent",
    "SalesAgent",
    "ScriptedSalesAgent",
    "product_facts",
]
