"""Sales agents (`salesenv.agents`): the interface and baseline salespeople."""

from salesenv.agents.base import BatchSalesAgent, SalesAgent, product_facts
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
    "RandomSalesAgent",
    "SalesAgent",
    "ScriptedSalesAgent",
    "product_facts",
]
