"""Compose the packaged Hydra configs and build the objects they name, for entry points.

`salesenv eval`, `salesenv play`, `examples/evaluate.py` and `examples/train_grpo.py` read
their settings from the config groups in `salesenv.conf` (schemas in `salesenv.config`);
this module composes them with the user's overrides and builds the episode scorer. Nothing
else in the library instantiates configs.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

from salesenv import catalog


class ConfigError(ValueError):
    """A config override names an unknown option or key, a value is invalid or missing."""


def compose_config(overrides: Sequence[str], config_name: str = "evaluate") -> Any:
    """A packaged config (`conf/<config_name>.yaml`) composed with Hydra overrides.

    Every value is resolved at once, so that a missing mandatory one fails here, before
    anything is built.

    Raises:
        ConfigError: If an override names an unknown option or key, or a value is invalid
            or missing; the message names the key.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    import salesenv.config  # noqa: F401 - registers the schemas

    conf_dir = str(resources.files("salesenv.conf"))
    try:
        with initialize_config_dir(config_dir=conf_dir, version_base=None):
            cfg = compose(config_name, overrides=list(overrides))
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).strip()
        if "Missing mandatory value" in message:
            key = message.split("full_key:")[-1].split()[0] if "full_key:" in message else ""
            message = f"{key} needs a value: add {key}=... to the command" if key else message
        raise ConfigError(f"configuration: {message}") from None
    check_installed(cfg)
    return cfg


def check_installed(cfg: Any) -> None:
    """Fails before anything is built if a component the config names lacks its extra.

    Raises:
        ConfigError: Naming the option and the `pip install` that provides it.
    """
    for node in _component_nodes(cfg):
        component = catalog.by_target(node.get("_target_", ""))
        if component is not None and component.missing:
            missing = ", ".join(component.missing)
            raise ConfigError(f"{component.needs_message} (missing: {missing})")


def _component_nodes(cfg: Any) -> list[Any]:
    nodes = [cfg.get(group) for group in ("customer", "scorer", "judge")]
    nodes += list(cfg.get("agents", {}).values())
    nodes += [n.get("backend") for n in list(nodes) if n is not None and "backend" in n]
    return [n for n in nodes if n is not None and hasattr(n, "get")]


def instantiate_scorer(cfg: Any, customer: Any) -> Any:
    """The `EpisodeScorer` a composed config names (`scoring`, `scorer`, `judge`).

    LLM graders with `backend: null` share the customer's model.

    Raises:
        ConfigError: If such a grader would share a customer that has no language model
            (the persona simulator): refused before any episode runs.
    """
    import hydra

    def grader(group: str) -> Any:
        node = cfg[group]
        if "backend" in node and node.backend is None:
            if not hasattr(customer, "generate"):
                raise ConfigError(_no_model_to_share(group, node, customer))
            return hydra.utils.instantiate(node, backend=customer)
        return hydra.utils.instantiate(node)

    return hydra.utils.instantiate(cfg.scoring, intent=grader("scorer"), judge=grader("judge"))


def _no_model_to_share(group: str, node: Any, customer: Any) -> str:
    component = catalog.by_target(node._target_)
    option = f"{group}={component.option}" if component else group
    kind = customer.describe().get("backend", type(customer).__name__)
    return (
        f"{option} asks the customer's model (its backend is null), but the {kind} customer "
        f"has no language model. Use an LLM customer (customer=transformers, vllm or openai "
        f"with customer.model=...), or give the {group} a model of its own: "
        f"{group}.backend='{{_target_: salesenv.customers.openai_backend.OpenAIChat, "
        "model: NAME}'"
    )


def build_evaluation(cfg: Any) -> tuple[list[Any], Any, Any]:
    """The agents, customer and scorer a composed evaluation config names.

    Raises:
        ConfigError: If there is no agent, the human agent (it plays at the terminal), or
            two agents share a name.
    """
    import hydra

    if not cfg.agents:
        raise ConfigError("no agent to evaluate: add agent=scripted (or agent=llm ...)")
    if "human" in cfg.agents:
        raise ConfigError("agent=human plays at the terminal: use `salesenv play`")
    agents = [hydra.utils.instantiate(agent_cfg) for agent_cfg in cfg.agents.values()]
    names = [agent.name for agent in agents]
    if len(set(names)) != len(names):
        raise ConfigError(f"two agents share a name ({names}): set agents.<option>.name")
    customer = hydra.utils.instantiate(cfg.customer)
    return agents, customer, instantiate_scorer(cfg, customer)
