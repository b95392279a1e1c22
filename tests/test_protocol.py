"""Conversation protocols: the official runner's rules (end pattern, rounds, language line,
the customer's message layout, scoring), an official-protocol episode end to end on the
persona customer and on the tiny model, records and reports that name their protocol, and
the report's refusal to mix protocols in one column."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import salesenv
from salesenv.agents import PassiveSalesAgent, ScriptedSalesAgent
from salesenv.cli import main
from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.chat import customer_messages
from salesenv.dialogue import Decision, Turn
from salesenv.env import SalesEnv
from salesenv.evaluation import evaluate
from salesenv.protocol import (
    END_RULE,
    PROTOCOLS,
    SALESENV,
    SALESLLM_OFFICIAL,
    ProtocolWarning,
    UnknownProtocolError,
    get_protocol,
)
from salesenv.report import (
    MixedProtocolError,
    check_protocols,
    difficulty_table,
    leaderboard,
    report_markdown,
)
from salesenv.results import load_results, upgrade_record
from salesenv.rewards import EpisodeScorer
from salesenv.runner import select_envs

OFFICIAL = PROTOCOLS[SALESLLM_OFFICIAL]


# --- the end rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "Okay, bye!",
        "BYE.",
        "Goodbye, and thanks.",
        "Bye-bye then.",
        "See you around.",
        "seeyou",  # the runner allows no space
        "Maybe next time.",
        "That's it for now, thanks.",
        "It's not needed.",
        "Sorry, I don't want it.",
        "i DON'T want IT",
        "好的，再见！",
        "拜拜",
        "嗯，下次再说。",
        "先这样。",
        "不需要，谢谢。",
        "不要。",
        "OK, 再见",
    ],
)
def test_the_official_end_rule_matches_goodbyes_and_refusals(reply):
    assert OFFICIAL.ends(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "Send me the bytes of the brochure.",  # "bye" inside a word
        "Goodbyes are hard.",  # the runner's \b: "goodbye" followed by a letter
        "I'm not needing anything else.",
        "I don’t want it",  # a typographic apostrophe, as in the runner
        "What does it cost per year?",
        "好的再见",  # Chinese characters are word characters: no boundary before 再见
        "嗯，下次再说吧。",  # nor after 说
        "OK再见",  # nor between Latin and Chinese letters
        "不要紧，你继续说。",  # 不要 followed by a character
        "我不需要这个",  # 不需要 inside a run of Chinese characters
        "这个价格怎么样？",
    ],
)
def test_the_official_end_rule_is_word_bounded_like_the_runner(reply):
    assert not OFFICIAL.ends(reply)


def test_protocols_by_name_and_their_rules():
    assert get_protocol(None).name == SALESENV
    assert get_protocol("salesllm_official") is OFFICIAL
    assert get_protocol("SalesLLM-Official") is OFFICIAL
    with pytest.raises(UnknownProtocolError, match="salesenv, salesllm-official"):
        get_protocol("official")
    default = PROTOCOLS[SALESENV]
    assert (default.max_rounds, default.end_rule, default.scoring_profile) == (20, None, "paper")
    assert not default.ends("Okay, bye!")  # the default protocol ends on decisions only
    assert (OFFICIAL.max_utterances, OFFICIAL.max_rounds) == (20, 10)
    assert OFFICIAL.scorer_settings() == {
        "profile": "salesllm-readme",
        "flattening": "official",
        "max_tokens": 128,
    }
    assert END_RULE.flags & 2  # re.IGNORECASE


# --- the customer's messages -------------------------------------------------------------------


def _request(scenario, protocol, must_decide=False):
    turns = (Turn("customer", scenario.trigger), Turn("salesperson", "Hello!"))
    return CustomerRequest("c", scenario, turns, seed=1, must_decide=must_decide, protocol=protocol)


def test_official_customer_messages_put_the_trigger_first_and_the_language_line_last(scenario):
    line = OFFICIAL.language_lines[scenario.language]
    official = customer_messages(_request(scenario, SALESLLM_OFFICIAL))
    assert official[0] == {"role": "system", "content": f"{scenario.customer_prompt}\n{line}"}
    assert official[1:] == [
        {"role": "assistant", "content": scenario.trigger},
        {"role": "user", "content": "Hello!"},
    ]
    ours = customer_messages(_request(scenario, SALESENV, must_decide=True))
    assert scenario.trigger in ours[0]["content"] and line not in ours[0]["content"]
    assert [m["role"] for m in ours] == ["system", "user"]


# --- the env -------------------------------------------------------------------------------


class ScriptedCustomer(CustomerLM):
    """Says its lines in order, with a decision on the turns named in `decisions`."""

    name = "scripted-customer"

    def __init__(self, lines, decisions=None):
        self.lines, self.decisions = lines, decisions or {}
        self.requests: list[CustomerRequest] = []

    def respond(self, requests):
        self.requests += requests
        out = []
        for request in requests:
            n = sum(t.role == "salesperson" for t in request.turns) - 1
            out.append(CustomerReply(self.lines[n], self.decisions.get(n)))
        return out


def _play(env, agent_turns=20):
    _, info = env.reset(seed=0)
    for turn in range(agent_turns):
        _, _, terminated, truncated, info = env.step(f"Point {turn} about the product.")
        if terminated or truncated:
            return info, terminated, truncated
    raise AssertionError("the episode did not end")


def test_official_episode_ends_on_a_goodbye_not_on_a_decision():
    customer = ScriptedCustomer(
        ["Tell me more.", "Sounds good, I'll take it.", "Fine. 好的，再见！"],
        decisions={1: Decision.BUY},
    )
    env = SalesEnv("en", "medium", customer=customer, protocol=SALESLLM_OFFICIAL)
    info, terminated, truncated = _play(env)
    assert (terminated, truncated, info["round"]) == (True, False, 3)
    assert info["protocol"] == SALESLLM_OFFICIAL and info["customer_flags"] == {"end_rule": 1}
    assert info["score"]["profile"] == "salesllm-readme" and info["score"]["alpha"] == 0.6
    assert not any(r.must_decide for r in customer.requests)  # never told the last turn
    assert {r.protocol for r in customer.requests} == {SALESLLM_OFFICIAL}
    # The default protocol ends on the decision and leaves the goodbye rule alone.
    ours = SalesEnv(
        "en", "medium", customer=ScriptedCustomer(["Okay, bye!", "Yes."], {1: Decision.BUY})
    )
    info, terminated, _ = _play(ours)
    assert terminated and info["round"] == 2 and info["protocol"] == SALESENV


def test_official_episode_is_10_salesperson_turns_and_the_customer_speaks_last():
    customer = ScriptedCustomer(["Hmm, go on."] * 20)
    env = SalesEnv("zh", "hard", customer=customer, protocol=SALESLLM_OFFICIAL)
    info, terminated, truncated = _play(env)
    assert (terminated, truncated, info["round"], info["max_rounds"]) == (False, True, 10, 10)
    generated = info["messages"][2:]  # after the system prompt and the trigger
    assert len(generated) == OFFICIAL.max_utterances
    assert generated[0]["role"] == "assistant" and generated[-1]["role"] == "user"
    line = OFFICIAL.language_lines["zh"]
    assert info["system_prompt"].endswith("\n" + line)
    assert info["messages"][0]["content"] == info["system_prompt"]
    assert info["score"]["intent_level"] == "C"  # nobody asked the customer to decide


def test_settings_unlike_the_official_protocol_are_warned_about():
    with pytest.warns(ProtocolWarning, match=r"profile 'paper'.*scoring.profile=salesllm-readme"):
        SalesEnv("en", "hard", scorer=EpisodeScorer(), protocol=SALESLLM_OFFICIAL)
    with pytest.warns(ProtocolWarning, match="max_rounds=20 means 40 generated utterances"):
        SalesEnv("en", "hard", max_rounds=20, protocol=SALESLLM_OFFICIAL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SalesEnv("en", "hard", scorer=EpisodeScorer(profile="paper"))  # the default: no warning
        SalesEnv("en", "hard", protocol=SALESLLM_OFFICIAL)


def test_persona_official_episode_passes_gymnasium_checks():
    from gymnasium.utils.env_checker import check_env

    env = salesenv.make("SalesLLM-zh-hard", protocol=SALESLLM_OFFICIAL)
    check_env(env.unwrapped, skip_render_check=True)


# --- records and reports ---------------------------------------------------------------------


def _run(out: Path, protocol: str | None, agents=None, episodes=3):
    kwargs = {"protocol": protocol} if protocol else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProtocolWarning)
        return evaluate(
            out,
            agents or [ScriptedSalesAgent(), PassiveSalesAgent()],
            salesenv.customers.PersonaCustomer(),
            EpisodeScorer(profile=get_protocol(protocol).scoring_profile),
            select_envs(["SalesLLM-en-hard"], episodes=episodes),
            env_kwargs=kwargs,
            num_envs=3,
            progress=False,
        )


def test_official_persona_run_records_and_reports_its_protocol(tmp_path, capsys):
    result = _run(tmp_path / "official", SALESLLM_OFFICIAL)
    records = load_results(tmp_path / "official")
    assert len(records) == 6 and {r["protocol"] for r in records} == {SALESLLM_OFFICIAL}
    assert all(r["rounds"] <= 10 and r["score"]["alpha"] == 0.6 for r in records)
    manifest = json.loads((tmp_path / "official" / "run.json").read_text())
    assert (manifest["protocol"], manifest["max_rounds"]) == (SALESLLM_OFFICIAL, 10)
    assert result.complete
    header = leaderboard(records)[0]
    assert header[1] == "en · persona · salesllm-official"
    assert "protocol salesllm-official; scoring profile salesllm-readme" in report_markdown(records)
    status = main(["report", str(tmp_path / "official"), "--out", str(tmp_path / "rep")])
    out = capsys.readouterr().out
    assert status == 0 and out.startswith("Protocol: salesllm-official")
    assert "protocol salesllm-official" in (tmp_path / "rep" / "report.md").read_text()


def test_report_refuses_two_protocols_in_one_column(tmp_path, capsys):
    _run(tmp_path / "ours", None, agents=[ScriptedSalesAgent()], episodes=2)
    _run(tmp_path / "official", SALESLLM_OFFICIAL, agents=[ScriptedSalesAgent()], episodes=2)
    ours, official = (str(tmp_path / name) for name in ("ours", "official"))
    status = main(["report", ours, official, "--out", str(tmp_path / "rep")])
    err = capsys.readouterr().err
    assert status == 2 and not (tmp_path / "rep").exists()
    assert f"column en · persona: salesenv ({ours}), salesllm-official ({official})" in err
    assert f"salesenv report {official} --out report-salesllm-official" in err
    records = load_results(ours) + load_results(official)
    with pytest.raises(MixedProtocolError, match="mix conversation protocols in one column"):
        leaderboard(records)
    # In columns of their own (another customer), both protocols show, each by name.
    mine = next(r for r in records if r["protocol"] == SALESENV)
    theirs = next(r for r in records if r["protocol"] == SALESLLM_OFFICIAL)
    mine = {**mine, "versions": {"customer": {"model": "/models/CustomerLM"}}}
    check_protocols({"these": [mine, theirs]})
    header = leaderboard([mine, theirs])[0]
    assert header[1:3] == ["en · CustomerLM · salesenv", "en · persona · salesllm-official"]
    rows = difficulty_table([mine, theirs])[1]
    assert [row[0] for row in rows] == ["scripted · salesenv", "scripted · salesllm-official"]


def test_records_written_before_protocols_read_as_salesenv(tmp_path):
    _run(tmp_path / "old", None, agents=[ScriptedSalesAgent()], episodes=1)
    path = tmp_path / "old" / "episodes.jsonl"
    record = json.loads(path.read_text().splitlines()[0])
    assert record["protocol"] == SALESENV
    del record["protocol"]
    assert upgrade_record(record)["protocol"] == SALESENV
    # An old run folder (no protocol in run.json or its records) resumes as salesenv.
    manifest = json.loads((tmp_path / "old" / "run.json").read_text())
    del manifest["protocol"]
    (tmp_path / "old" / "run.json").write_text(json.dumps(manifest))
    path.write_text(json.dumps(record) + "\n")
    result = _run(tmp_path / "old", None, agents=[ScriptedSalesAgent()], episodes=1)
    assert result.resumed == 1 and load_results(tmp_path / "old")[0]["protocol"] == SALESENV


# --- configuration ---------------------------------------------------------------------------


def test_protocol_from_the_command_line_and_hydra(tmp_path, capsys):
    def eval_argv(out: Path, *more: str) -> list[str]:
        suite = ["--suite", "SalesLLM-zh-hard", "--episodes", "1", "--no-progress"]
        return ["eval", "--out", str(out), *suite, *more, "agent=scripted"]

    assert main(eval_argv(tmp_path / "run", "--protocol", SALESLLM_OFFICIAL)) == 0
    (record,) = load_results(tmp_path / "run")
    assert record["protocol"] == SALESLLM_OFFICIAL
    assert record["score"]["profile"] == "salesllm-readme"  # the protocol's blend
    assert "zh · persona · salesllm-official" in capsys.readouterr().out
    contradiction = eval_argv(
        tmp_path / "x", "--protocol", SALESENV, "env.protocol=salesllm_official"
    )
    assert main(contradiction) == 2
    assert "--protocol salesenv contradicts env.protocol=salesllm_official" in (
        capsys.readouterr().err
    )


def test_the_official_preset_composes():
    from salesenv.build import ConfigError, compose_config
    from salesenv.config import apply_protocol, env_kwargs

    with pytest.raises(ConfigError, match=r"judge.backend.model=\.\.\."):
        compose_config(["experiment=salesllm_official"])
    cfg = compose_config(["experiment=salesllm_official", "judge.backend.model=judge"])
    assert env_kwargs(cfg.env) == {"protocol": SALESLLM_OFFICIAL}
    assert cfg.customer._target_.endswith("VLLMChat")
    assert cfg.customer.model == "MultiSense/CustomerLM"
    assert cfg.scorer.checkpoints == "MultiSense/SaleIntent_bert"
    assert (cfg.scorer.subfolders.zh, cfg.scorer.subfolders.en) == ("zh", "en")
    assert (cfg.scorer.flattening, cfg.scorer.max_tokens) == ("official", 128)
    assert cfg.judge._target_.endswith("LLMJudge") and cfg.scoring.profile == "salesllm-readme"
    assert apply_protocol(cfg) == []  # the preset already scores as the protocol says
    # Without the preset, the protocol brings its scoring unless the command sets it.
    cfg = compose_config(["env.protocol=salesllm-official", "scorer=hf", "scorer.checkpoints=x"])
    assert apply_protocol(cfg, ["scorer.max_tokens=64"]) == [
        "scoring.profile=salesllm-readme",
        "scorer.flattening=official",
    ]
    assert cfg.scorer.max_tokens == 128  # the constructor's default, left alone anyway


# --- the tiny model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_qwen3() -> Path:
    """The tiny random Qwen3 chat model (built locally, cached): the same architecture and
    chat template as the released customer model, so the official layout (an assistant
    turn right after the system prompt) goes through a Qwen3 template; and fast on CPU."""
    pytest.importorskip("transformers")
    from salesenv.customers.tiny_qwen3 import tiny_qwen3_dir

    return tiny_qwen3_dir()


class _Recording:
    """Wraps a chat backend's `generate` to keep the conversations it was given."""

    def __init__(self, backend):
        self.seen: list[list[dict[str, str]]] = []
        original = backend.generate

        def generate(conversations, seeds):
            self.seen += [list(c) for c in conversations]
            return original(conversations, seeds)

        backend.generate = generate


@pytest.mark.llm
def test_official_episode_on_the_tiny_model(tiny_qwen3, tmp_path, capsys):
    from salesenv.customers.chat import SamplingConfig
    from salesenv.customers.transformers_backend import TransformersChat

    customer = TransformersChat(
        str(tiny_qwen3), sampling=SamplingConfig(max_new_tokens=8, max_regenerations=0)
    )
    seen = _Recording(customer)
    # Two salesperson turns (CPU time is scarce in CI); the short limit is warned about,
    # being unlike the protocol's 10 turns.
    with pytest.warns(ProtocolWarning, match="max_rounds=2 means 4 generated utterances"):
        evaluate(
            tmp_path / "run",
            [ScriptedSalesAgent()],
            customer,
            EpisodeScorer(profile="salesllm-readme"),
            select_envs(["SalesLLM-en-medium"], episodes=1),
            env_kwargs={"protocol": SALESLLM_OFFICIAL, "max_rounds": 2},
            num_envs=1,
            progress=False,
        )
    (record,) = load_results(tmp_path / "run")
    assert record["protocol"] == SALESLLM_OFFICIAL and record["error"] is None
    assert record["versions"]["customer"]["backend"] == "transformers"
    assert record["score"]["profile"] == "salesllm-readme" and record["rounds"] == 2
    transcript = record["transcript"]
    assert [t["role"] for t in transcript] == ["customer", "salesperson"] * 2 + ["customer"]
    # What the model was given on the last turn: the official layout, roles flipped.
    messages = seen.seen[-1]
    assert messages[0]["role"] == "system"
    assert messages[0]["content"].endswith("\nPlease reply in English.")
    assert messages[1:] == [
        {"role": "assistant" if t["role"] == "customer" else "user", "content": t["text"]}
        for t in transcript[:-1]
    ]
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "Protocol: salesllm-official" in out
    assert "en · tiny-qwen3-v1 · salesllm-official" in out
    assert "salesllm-official" in (tmp_path / "rep" / "report.md").read_text()
