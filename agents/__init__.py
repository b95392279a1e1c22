"""Sales agents (`salesenv.agents`): the interface and baseline salespeople."""

from salesenv.agents.base import SalesAgent, product_facts
from salesenv.agents.human import HumanSalesAgent
from salesenv.agents.passive import PassiveSalesAgent
from salesenv.agents.random_agent import RandomSalesAgent
from salesenv.agents.scripted import ScriptedSalesAgent

__all__ = [
    "HumanSalesAgent",
    "PassiveSalesAgent",
    "RandomSalesAgent",
    "SalesAgent",
    "ScriptedSalesAgent",
    "product_facts",
]
