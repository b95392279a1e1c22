"""salesenv: a Gymnasium environment for LLM sales agents.

import salesenv
env = salesenv.make("SalesLLM-zh-hard")
obs, info = env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step("您好！")
"""

from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.env import SalesEnv
from salesenv.longhorizon import LongHorizonSalesEnv
from salesenv.portfolio_env import PortfolioSalesEnv
from salesenv.registry import UnknownEnvError, list_envs, make, make_vec, register_envs
from salesenv.scenarios import Scenario, ScenarioSampler, load_suite

__version__ = "0.1.0"

register_envs()

__all__ = [
    "Decision",
    "Dialogue",
    "LongHorizonSalesEnv",
    "PortfolioSalesEnv",
    "SalesEnv",
    "Scenario",
    "ScenarioSampler",
    "Turn",
    "UnknownEnvError",
    "list_envs",
    "load_suite",
    "make",
    "make_vec",
    "register_envs",
]
