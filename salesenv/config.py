"""Hydra structured configs: the schema of every config group, derived where it can be.

The schema of a component option (`customer=vllm`, `scorer=embedded`, `agent=llm`, ...) is
derived from its class's constructor (`salesenv.schemas.schema_of`), so each default lives
once, in the constructor; the catalog (`salesenv.catalog`) lists the options. `register_configs` stores
them in Hydra's ConfigStore: `schema/<group>/<option>` always, and the option itself when
no YAML file in `conf/<group>/` refines it (the YAML files hold only deliberate overrides
and extend their schema through their defaults list). Importing this module registers
everything; entry points compose with `salesenv.build.compose_config`.

Because the schemas are typed, a mistyped key or value fails when the config is composed,
with the key and the valid choices in the message:

    salesenv eval --out x customer.modle=x        # Key 'modle' not in 'TransformersChat'
    python examples/evaluate.py env.difficulty=hardd
    # Invalid value 'hardd', expected one of [easy, medium, hard, veryhard, adversarial, mixed]

Nothing here builds an object: only the entry points call `hydra.utils.instantiate`.
Importing this module imports Hydra, OmegaConf and the component modules, but no model
library (backends import theirs when they are built).

Groups (see `conf/`): `env`, `customer`, `scorer` (intent scorers), `judge`, `agent`,
`eval`, `train` (GRPO settings for `examples/train_grpo.py`), `experiment` (presets) and
`debug` (tiny CPU runs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from salesenv import catalog
from salesenv.ids import ENV_DIFFICULTIES, LANGUAGES, VARIANTS, EnvId, id_spelling, parse_difficulty
from salesenv.protocol import DEFAULT_PROTOCOL, PROTOCOLS, get_protocol
from salesenv.scenarios.prompts import PROMPT_STYLES
from salesenv.scenarios.sampler import SPLITS
from salesenv.schemas import constructor_default, schema_of
from salesenv.training.settings import TrainConf, VLLMMode

__all__ = [
    "Difficulty",
    "EnvConf",
    "EvalConf",
    "EvaluateConfig",
    "Language",
    "LongHorizonEnvConf",
    "PortfolioEnvConf",
    "ProtocolName",
    "TrainConf",
    "TrainGRPOConfig",
    "VLLMMode",
    "Variant",
    "apply_protocol",
    "env_ids",
    "env_kwargs",
    "register_configs",
]

#: The languages an evaluation covers; `both` evaluates zh and en in one run.
Language = Enum("Language", {**{lang: lang for lang in LANGUAGES}, "both": "both"})
#: Difficulty profiles as spelled in env ids; `very_hard` (the paper's spelling) is an alias.
Difficulty = Enum(
    "Difficulty",
    {**{id_spelling(d): id_spelling(d) for d in ENV_DIFFICULTIES}, "very_hard": "veryhard"},
)
#: Env variants (the suffix of an env id): plain, longhorizon or portfolio.
Variant = Enum("Variant", {(variant or "plain"): variant for variant in VARIANTS})
#: Conversation protocols (`salesenv.protocol`): salesenv (default) or salesllm-official.
ProtocolName = Enum("ProtocolName", {name: name for name in PROTOCOLS})


# --- env ---------------------------------------------------------------------------------


@dataclass
class EnvConf:
    """Which env ids to evaluate: `SalesLLM-{language}-{difficulty}[-{variant}]`.

    Attributes:
        language: zh, en, or both (two envs in one run).
        difficulty: A difficulty profile; with a suite, `mixed` keeps every scenario of
            the language and any other value keeps only that difficulty's scenarios.
        variant: plain, longhorizon or portfolio.
        suite: A built-in suite name ("salesllm-1805") or a JSONL path; episodes then play
            the suite's scenarios in order instead of sampled ones. Null samples scenarios.
        max_rounds: Salesperson turns per session (null: the protocol's, 20 or 10).
        protocol: salesenv (default) or salesllm-official: the public SalesLLM runner's
            rounds, end rule and language line, scored as its README says
            (`env.protocol=salesllm-official`, or `salesenv eval --protocol ...`).
        split: null (every product), train or test: sample only that side of the seeded
            product/occupation split (plain variant, sampled scenarios only).
        prompt_style: full (the benchmark's salesperson prompt) or compact (a short one, a
            training aid for small policies; scored as usual).
    """

    language: Language = Language.both
    difficulty: Difficulty = Difficulty.hard
    variant: Variant = Variant.plain
    suite: str | None = None
    max_rounds: int | None = constructor_default("salesenv.env.SalesEnv", "max_rounds")
    protocol: ProtocolName = ProtocolName[constructor_default("salesenv.env.SalesEnv", "protocol")]
    split: str | None = None
    prompt_style: str = constructor_default("salesenv.env.SalesEnv", "prompt_style")


@dataclass
class LongHorizonEnvConf(EnvConf):
    """The long-horizon variant: follow-up sessions after a clear no.

    Attributes:
        max_followups: Follow-up sessions at most (`LongHorizonSalesEnv`'s default, the
            paper's 2).
    """

    variant: Variant = Variant.longhorizon
    max_followups: int = constructor_default(
        "salesenv.longhorizon.LongHorizonSalesEnv", "max_followups"
    )


@dataclass
class PortfolioEnvConf(EnvConf):
    """The multi-product variant: six products matched to the customer."""

    variant: Variant = Variant.portfolio


#: The schema of each `env` option (the catalog's `env` rows).
ENV_SCHEMAS = {"plain": EnvConf, "longhorizon": LongHorizonEnvConf, "portfolio": PortfolioEnvConf}


def env_ids(env: Any) -> list[str]:
    """The short env ids an `EnvConf` stands for (two when `language` is `both`).

    Args:
        env: A composed `env` node (DictConfig) or an `EnvConf`.
    """
    languages = LANGUAGES if env.language == Language.both else (env.language.value,)
    difficulty = parse_difficulty(env.difficulty.value)
    return [EnvId(lang, difficulty, env.variant.value).short for lang in languages]


def env_kwargs(env: Any) -> dict[str, Any]:
    """Keyword arguments for `salesenv.make` from an `env` node (besides the id)."""
    kwargs: dict[str, Any] = {"protocol": env.protocol.value}
    split = env.get("split") if hasattr(env, "get") else getattr(env, "split", None)
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"env.split must be null, train or test, got {split!r}")
        if env.variant != Variant.plain or env.suite:
            raise ValueError(
                "env.split applies to sampled scenarios of the plain variant: drop env.suite "
                "and use env=plain, or leave env.split null"
            )
        kwargs["split"] = split
    if env.max_rounds is not None:
        kwargs["max_rounds"] = int(env.max_rounds)
    style = env.get("prompt_style", "full") if hasattr(env, "get") else env.prompt_style
    if style != "full":
        if style not in PROMPT_STYLES:
            raise ValueError(f"env.prompt_style must be full or compact, got {style!r}")
        kwargs["prompt_style"] = style
    if env.variant == Variant.longhorizon:
        kwargs["max_followups"] = int(env.max_followups)
    return kwargs


def apply_protocol(cfg: Any, overrides: Sequence[str] = ()) -> list[str]:
    """Gives a composed config the scoring of its `env.protocol`, where the overrides do
    not set it: `scoring.profile`, and for the hf intent scorer `scorer.flattening` and
    `scorer.max_tokens` (salesllm-official: salesllm-readme, official, 128).

    Args:
        cfg: A composed config with `env`, `scoring` and `scorer` (changed in place).
        overrides: The user's Hydra overrides; a key they set is left alone.

    Returns:
        The settings changed, as overrides ("scoring.profile=salesllm-readme", ...).
    """
    protocol = get_protocol(cfg.env.protocol.value)
    if protocol.name == DEFAULT_PROTOCOL:
        return []
    settings = protocol.scorer_settings()
    wanted = {"scoring.profile": settings["profile"]}
    if str(cfg.scorer.get("_target_", "")).endswith(".HFIntentScorer"):
        wanted["scorer.flattening"] = settings["flattening"]
        wanted["scorer.max_tokens"] = settings["max_tokens"]
    given = {o.lstrip("+~").split("=", 1)[0] for o in overrides}
    changed = []
    for key, value in wanted.items():
        group, name = key.split(".")
        if key not in given and cfg[group][name] != value:
            cfg[group][name] = value
            changed.append(f"{key}={value}")
    return changed


# --- eval --------------------------------------------------------------------------------

_EVALUATE = "salesenv.evaluation.evaluate"


@dataclass
class EvalConf:
    """How many episodes, and how they run (`salesenv.evaluation.evaluate`'s defaults).

    Attributes:
        episodes: Per agent and env; episode i uses seed `seed + i` (with a suite: the
            first `episodes` scenarios of each language). Null plays every scenario of the
            suite once.
        seed: The first episode's seed.
        trials: Plays of each scenario (with different seeds).
        num_envs: Conversations run at once (one batched customer call per step).
        progress: Show a progress bar.
        print_table: Print the leaderboard at the end.
    """

    episodes: int | None = 200
    seed: int = constructor_default(_EVALUATE, "seed")
    trials: int = constructor_default(_EVALUATE, "trials")
    num_envs: int = constructor_default(_EVALUATE, "num_envs")
    progress: bool = constructor_default(_EVALUATE, "progress")
    print_table: bool = True


# --- primary configs -------------------------------------------------------------------


@dataclass
class EvaluateConfig:
    """`examples/evaluate.py`: agents x env ids, scored and summarised.

    Attributes:
        agents: Agent configs by name, filled by the `agent` group (`agent=scripted` or
            `agent=[scripted,passive]`); every agent plays every env.
        scoring: The blend of intent and judge (`EpisodeScorer`: profile "paper" is alpha
            0.5, "salesllm-readme" 0.6; faithfulness_penalty per unsupported claim).
    """

    env: EnvConf = MISSING
    customer: Any = MISSING
    scorer: Any = MISSING
    judge: Any = MISSING
    agents: dict[str, Any] = field(default_factory=dict)
    scoring: Any = field(default_factory=lambda: scoring_schema()())
    eval: EvalConf = MISSING


@dataclass
class TrainGRPOConfig:
    """`examples/train_grpo.py`: GRPO on salesenv rollouts with TRL."""

    env: EnvConf = MISSING
    customer: Any = MISSING
    scorer: Any = MISSING
    judge: Any = MISSING
    scoring: Any = field(default_factory=lambda: scoring_schema()())
    train: TrainConf = MISSING
    eval: EvalConf = MISSING


def scoring_schema() -> type:
    """The `scoring` node: `EpisodeScorer`'s settings; the entry point passes the intent
    scorer and the judge it builds from the `scorer` and `judge` groups."""
    return schema_of("salesenv.rewards.EpisodeScorer", exclude=("intent", "judge"))


def component_schema(component: catalog.Component) -> type:
    """The schema of a catalog row: derived from the constructor, or for an env variant
    its hand-written schema (`EnvConf` with the variant set, if it has no settings)."""
    if component.group != "env":
        return schema_of(component.target)
    if component.option not in ENV_SCHEMAS:
        variant = Variant(component.option)
        ENV_SCHEMAS[component.option] = dataclasses.make_dataclass(
            f"{component.option.title()}EnvConf",
            [("variant", Variant, field(default=variant))],
            bases=(EnvConf,),
        )
    return ENV_SCHEMAS[component.option]


def register_component(component: catalog.Component) -> None:
    """Stores a catalog row's schema as `schema/<group>/<option>` and, unless a YAML file
    `conf/<group>/<option>.yaml` refines it, as the option itself."""
    store = ConfigStore.instance()
    node = component_schema(component)
    store.store(group=f"schema/{component.group}", name=component.option, node=node)
    if not _has_yaml(component.group, component.option):
        package = f"agents.{component.option}" if component.group == "agent" else None
        store.store(group=component.group, name=component.option, node=node, package=package)


def _has_yaml(group: str, option: str) -> bool:
    return resources.files("salesenv.conf").joinpath(group, f"{option}.yaml").is_file()


def register_configs() -> ConfigStore:
    """Stores every schema in Hydra's ConfigStore (idempotent) and returns the store."""
    store = ConfigStore.instance()
    for component in catalog.COMPONENTS:
        register_component(component)
    store.store(group="eval", name="default", node=EvalConf)
    store.store(group="train", name="grpo", node=TrainConf)
    store.store(group="schema", name="evaluate", node=EvaluateConfig)
    store.store(group="schema", name="train_grpo", node=TrainGRPOConfig)
    return store


register_configs()
