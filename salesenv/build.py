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
        return cfg
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).strip()
        if "Missing mandatory value" in message:
            key = message.split("full_key:")[-1].split()[0] if "full_key:" in message else ""
            message = f"{key} needs a value: add {key}=... to the command" if key else message
        raise ConfigError(f"configuration: {message}") from None


def instantiate_scorer(cfg: Any, customer: Any) -> Any:
    """The `EpisodeScorer` a composed config names (`scoring`, `scorer`, `judge`).

    LLM graders with `backend: null` share the customer's model.
    """
    import hydra

    def grader(node: Any) -> Any:
        if "backend" in node and node.backend is None:
            return hydra.utils.instantiate(node, backend=customer)
        return hydra.utils.instantiate(node)

    return hydra.utils.instantiate(cfg.scoring, intent=grader(cfg.scorer), judge=grader(cfg.judge))
