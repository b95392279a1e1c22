"""Hydra structured configs: the schema of every config group, derived where it can be.

The schema of a component option (`customer=vllm`, `scorer=embedded`, `agent=llm`, ...) is
derived from its class's constructor (`schema_of`): every parameter with a default that a
config can hold becomes a typed field with that default, parameters without a default are
mandatory (`???`), and a `_target_` names the class. So each default lives once, in the
constructor; the catalog (`salesenv.catalog`) lists the options. `register_configs` stores
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
import inspect
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any, Optional, Union

from hydra.core.config_store import ConfigStore
from hydra.utils import get_class
from omegaconf import MISSING

from salesenv import catalog
from salesenv.ids import ENV_DIFFICULTIES, LANGUAGES, VARIANTS, EnvId, id_spelling, parse_difficulty

#: The languages an evaluation covers; `both` evaluates zh and en in one run.
Language = Enum("Language", {**{lang: lang for lang in LANGUAGES}, "both": "both"})
#: Difficulty profiles as spelled in env ids; `very_hard` (the paper's spelling) is an alias.
Difficulty = Enum(
    "Difficulty",
    {**{id_spelling(d): id_spelling(d) for d in ENV_DIFFICULTIES}, "very_hard": "veryhard"},
)
#: Env variants (the suffix of an env id): plain, longhorizon or portfolio.
Variant = Enum("Variant", {(variant or "plain"): variant for variant in VARIANTS})


class VLLMMode(Enum):
    """How TRL's GRPO trainer runs vLLM: inside the training process or as a server."""

    colocate = "colocate"
    server = "server"


# --- schemas derived from constructors -------------------------------------------------

_SCALARS = (int, float, bool, str)


def schema_of(target: str, exclude: Sequence[str] = ()) -> type:
    """A structured-config dataclass for `target`'s constructor (hydra-zen's `builds` with
    `populate_full_signature=True`, in small).

    Args:
        target: Import path of a class ("salesenv.customers.vllm_backend.VLLMChat").
        exclude: Parameters to leave out (objects the entry point passes itself).

    Returns:
        A dataclass named after the class, with `_target_` and one field per parameter:
        typed when the annotation is a scalar, an Enum, a list, a dict, an optional of
        those or a dataclass (nested, with its own `_target_`), else `Any`. Parameters
        whose default is not a config value (a function, an object) are left out.
    """
    return _schema_of(target, tuple(exclude))


@cache
def _schema_of(target: str, exclude: tuple[str, ...]) -> type:
    cls = get_class(target)
    hints = _hints(cls)
    fields: list[tuple[str, Any, Any]] = [("_target_", str, field(default=target))]
    for name, param in inspect.signature(cls).parameters.items():
        if name in exclude or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        spec = _field(hints.get(name, Any), param.default)
        if spec is not None:
            fields.append((name, *spec))
    return dataclasses.make_dataclass(cls.__name__, fields)


def _field(annotation: Any, default: Any) -> tuple[Any, Any] | None:
    """(type, dataclasses.field) of one parameter, or None if a config cannot hold it."""
    nested = _dataclass_in(annotation)
    if nested is not None and (default is None or dataclasses.is_dataclass(default)):
        # None means "the defaults" for a settings dataclass (e.g. `sampling=None`): the
        # schema spells them out, so that `customer.sampling.temperature=...` works.
        schema = schema_of(f"{nested.__module__}.{nested.__qualname__}")
        values = {} if default is None else dataclasses.asdict(default)
        return schema, field(default_factory=lambda: schema(**values))
    kind = _config_type(annotation)
    if default is inspect.Parameter.empty:
        return kind, field(default=MISSING)
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, list | dict):
        return kind, field(default_factory=lambda: typing.cast(Any, default).copy())
    if default is None or isinstance(default, (*_SCALARS, Enum)):
        return kind, field(default=default)
    return None


def _config_type(annotation: Any) -> Any:
    """The closest type OmegaConf can check, or Any."""
    if annotation in _SCALARS or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and (kind := _config_type(inner[0])) is not Any:
            return Optional[kind]  # noqa: UP045 - OmegaConf reads typing.Optional
        return Any
    if origin in (list, tuple, Sequence) and args and args[0] in _SCALARS:
        return list[args[0]]
    if origin in (dict, Mapping):
        return dict[str, Any]
    return Any


def _dataclass_in(annotation: Any) -> type | None:
    """The settings dataclass an annotation names, alone or as `X | None`, or None."""
    inner = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    kind = inner[0] if len(inner) == 1 else None
    return kind if isinstance(kind, type) and dataclasses.is_dataclass(kind) else None


def _hints(cls: type) -> dict[str, Any]:
    """The constructor's resolved annotations; one that names an import made only for type
    checkers becomes Any."""
    init = cls if dataclasses.is_dataclass(cls) else cls.__init__
    namespace = vars(sys.modules[cls.__module__])
    annotations = typing.get_type_hints(init) if dataclasses.is_dataclass(cls) else {}
    for name, annotation in getattr(init, "__annotations__", {}).items():
        if name not in annotations:
            annotations[name] = _resolve(annotation, namespace)
    return annotations


def _resolve(annotation: Any, namespace: dict[str, Any]) -> Any:
    def probe() -> None: ...

    probe.__annotations__ = {"value": annotation}
    try:
        return typing.get_type_hints(probe, namespace)["value"]
    except (NameError, AttributeError, TypeError):
        return Any


def constructor_default(target: str, parameter: str) -> Any:
    """The default of one constructor parameter (to give hand-written schemas the same)."""
    return inspect.signature(get_class(target)).parameters[parameter].default


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
        max_rounds: Salesperson turns per session (`SalesEnv`'s default).
    """

    language: Language = Language.both
    difficulty: Difficulty = Difficulty.hard
    variant: Variant = Variant.plain
    suite: str | None = None
    max_rounds: int = constructor_default("salesenv.env.SalesEnv", "max_rounds")


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
    kwargs: dict[str, Any] = {"max_rounds": int(env.max_rounds)}
    if env.variant == Variant.longhorizon:
        kwargs["max_followups"] = int(env.max_followups)
    return kwargs


# --- eval --------------------------------------------------------------------------------


@dataclass
class EvalConf:
    """How many episodes and what to write.

    Attributes:
        episodes: Per agent and env; episode i uses seed `seed + i` (and with a suite the
            i-th scenario). Null plays every scenario of the suite once.
        seed: The first episode's seed.
        progress: Show a progress bar.
        write_episodes: Write `episodes.jsonl` (every transcript) to the run directory.
        print_table: Print the score table.
        group_by: Record fields that define a row of the summary.
    """

    episodes: int | None = 200
    seed: int = 0
    progress: bool = True
    write_episodes: bool = True
    print_table: bool = True
    group_by: list[str] = field(default_factory=lambda: ["agent", "language", "difficulty"])


# --- train -----------------------------------------------------------------------------


@dataclass
class TrainConf:
    """GRPO settings read by `examples/train_grpo.py` (TRL's `GRPOTrainer`).

    Attributes:
        policy_model: Path or hub id of the salesperson model being trained.
        lr: Learning rate.
        num_generations: Group size G: episodes per scenario whose rewards are compared.
        max_steps: Optimiser steps.
        per_turn_max_tokens: Token budget of one salesperson turn.
        episode_token_budget: Tokens the salesperson may generate in one episode.
        per_device_train_batch_size: Completions per device and step.
        gradient_accumulation_steps: Steps accumulated before an optimiser step.
        beta: KL coefficient against the reference policy (0 disables the reference).
        temperature: Policy sampling temperature during rollouts.
        use_vllm: Generate rollouts with vLLM.
        vllm_mode: colocate (same process and GPU) or server (`trl vllm-serve`).
        seed: Training seed.
        output_dir: Checkpoints; null uses the Hydra run directory.
        num_prompts: Scenarios in the training dataset (each played by G rollouts).
        first_seed: Seed of the first training scenario; evaluation uses `eval.seed + i`,
            so keep the two ranges apart.
        shaping_weight: Weight of the potential-based intent shaping added to the episode
            reward (0 disables it; it needs a transcript-reading scorer to matter).
        logging_steps: Log every this many optimiser steps.
        save_model: Save the trained policy (and tokenizer) to `<output_dir>/final`.
        vllm_gpu_memory_utilization: GPU memory share of the colocated vLLM engine.
        vllm_max_model_length: vLLM's context length; must hold a whole episode.
    """

    policy_model: str = MISSING
    lr: float = 1e-6
    num_generations: int = 8
    max_steps: int = 500
    per_turn_max_tokens: int = 256
    episode_token_budget: int = 4096
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    beta: float = 0.0
    temperature: float = 1.0
    use_vllm: bool = False
    vllm_mode: VLLMMode = VLLMMode.colocate
    seed: int = 0
    output_dir: str | None = None
    num_prompts: int = 512
    first_seed: int = 100_000
    shaping_weight: float = 0.0
    logging_steps: int = 1
    save_model: bool = True
    vllm_gpu_memory_utilization: float = 0.3
    vllm_max_model_length: int | None = None


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
    """The schema of a catalog row: the env variants' hand-written ones, else derived."""
    if component.group == "env":
        return ENV_SCHEMAS[component.option]
    return schema_of(component.target)


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
