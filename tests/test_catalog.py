"""One catalog, schemas derived from constructors, ids parsed once, and the command-line
mistakes a newcomer makes, each refused with a message that says what to do."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import subprocess
import sys
from collections.abc import Sequence

import pytest
from hydra.utils import get_class

import salesenv
from salesenv import catalog
from salesenv.build import ConfigError, compose_config
from salesenv.cli import main
from salesenv.config import EnvConf, LongHorizonEnvConf, component_schema
from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.ids import EnvId, UnknownIdError, parse_difficulty
from salesenv.schemas import schema_of


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- every default lives once ---------------------------------------------------------


def _expected_default(param: inspect.Parameter, field: dataclasses.Field):
    """What the schema field should hold for a constructor parameter."""
    if param.default is inspect.Parameter.empty:
        return "???"
    if param.default is None and dataclasses.is_dataclass(field.type):
        return dataclasses.asdict(get_class(field.default_factory()._target_)())
    return list(param.default) if isinstance(param.default, tuple) else param.default


def _schema_default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return "???" if field.default == "???" else field.default
    value = field.default_factory()
    if dataclasses.is_dataclass(value):
        return {k: v for k, v in dataclasses.asdict(value).items() if k != "_target_"}
    return value


@pytest.mark.parametrize(
    "component",
    [c for c in catalog.COMPONENTS if c.group != "env"],
    ids=lambda c: f"{c.group}={c.option}",
)
def test_every_schema_default_is_its_constructors(component):
    schema = component_schema(component)
    params = inspect.signature(get_class(component.target)).parameters
    fields = {f.name: f for f in dataclasses.fields(schema) if f.name != "_target_"}
    assert set(fields) <= set(params)
    for name, field in fields.items():
        assert _schema_default(field) == _expected_default(params[name], field), name


def test_hand_written_env_schemas_take_the_env_defaults():
    env_params = inspect.signature(get_class("salesenv.env.SalesEnv")).parameters
    long_params = inspect.signature(get_class("salesenv.longhorizon.LongHorizonSalesEnv"))
    assert EnvConf().max_rounds == env_params["max_rounds"].default
    assert EnvConf().protocol.value == env_params["protocol"].default
    assert LongHorizonEnvConf().max_followups == long_params.parameters["max_followups"].default


def test_a_changed_constructor_default_changes_the_schema():
    schema = schema_of("tests.test_catalog.FakeCustomer")
    (field,) = [f for f in dataclasses.fields(schema) if f.name == "greeting"]
    assert field.default == FakeCustomer.__init__.__defaults__[0] == "Hi there."


def test_a_catalog_option_names_a_class_and_what_it_needs():
    vllm = catalog.find("customer", "vllm")
    assert vllm.target.endswith("VLLMChat") and "salesenv[vllm" in vllm.needs_message
    with pytest.raises(catalog.UnknownComponentError, match="persona, transformers, vllm"):
        catalog.find("customer", "llamacpp")
    for component in catalog.COMPONENTS:
        assert get_class(component.target).__name__ == component.target.rsplit(".", 1)[1]


# --- adding a customer backend: one class plus one catalog line ------------------------


class FakeCustomer(CustomerLM):
    """A customer backend that says the same line each turn and buys on the third."""

    deterministic = True

    def __init__(self, greeting: str = "Hi there.") -> None:
        self.greeting = greeting

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        replies = []
        for request in requests:
            buy = len(request.turns) >= 5 or request.must_decide
            replies.append(
                CustomerReply(text=f"{self.greeting} OK, I'll take it." if buy else self.greeting)
            )
        return replies

    def describe(self) -> dict[str, str]:
        return {"backend": "fake", "model": "fake-greeter"}


@pytest.fixture
def fake_backend():
    row = catalog.Component("customer", "fake", "tests.test_catalog.FakeCustomer", "a test backend")
    catalog.add(row)
    yield row
    catalog.COMPONENTS.remove(row)


def test_a_registered_backend_runs_in_salesenv_eval(fake_backend, tmp_path, capsys):
    out = tmp_path / "run"
    status, stdout, err = run_cli(
        capsys, "eval", "--out", out, "--limit", 2, "--language", "en", "--no-progress",
        "agent=scripted", "customer=fake", "customer.greeting=Hello from the fake.",
    )  # fmt: skip
    assert status == 0, err
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert json.loads((out / "run.json").read_text())["customer"] == {
        "backend": "fake",
        "model": "fake-greeter",
    }
    customer_turns = [t["text"] for t in records[0]["transcript"] if t["role"] == "customer"]
    assert "Hello from the fake." in customer_turns[1]
    status, stdout, _ = run_cli(capsys, "list")
    assert "  fake " in stdout and "a test backend (ready)" in stdout
    with pytest.raises(ValueError, match="already in the catalog"):
        catalog.add(fake_backend)


def test_a_missing_extra_is_named_before_anything_runs(tmp_path, capsys):
    row = catalog.Component(
        "customer", "needy", "tests.test_catalog.FakeCustomer", "needs a module",
        (("a_module_nobody_installed",), "salesenv[needy]"),
    )  # fmt: skip
    catalog.add(row)
    try:
        with pytest.raises(ConfigError, match=r"customer=needy needs `pip install salesenv\[needy"):
            compose_config(["customer=needy"])
        status, _, err = run_cli(capsys, "eval", "--out", tmp_path / "r", "customer=needy")
        assert status == 2 and "a_module_nobody_installed" in err
        assert not (tmp_path / "r").exists()
    finally:
        catalog.COMPONENTS.remove(row)


# --- ids -------------------------------------------------------------------------------


def test_difficulty_spellings_and_env_ids_parse_in_one_place():
    for spelling in ("very_hard", "veryhard", "Very Hard", "very-hard"):
        assert parse_difficulty(spelling) == "very_hard"
    with pytest.raises(UnknownIdError, match="choose one of easy, medium, hard, very_hard"):
        parse_difficulty("brutal")
    env_id = EnvId.parse("salesenv/SalesLLM-en-veryhard-longhorizon-v0")
    assert (env_id.language, env_id.difficulty, env_id.variant) == (
        "en",
        "very_hard",
        "longhorizon",
    )
    assert env_id.short == "SalesLLM-en-veryhard-longhorizon"
    assert EnvId("zh", "mixed").gym_id == "salesenv/SalesLLM-zh-mixed-v0"
    assert [str(i) for i in map(EnvId.parse, salesenv.list_envs())] == salesenv.list_envs()
    with pytest.raises(UnknownIdError, match="Did you mean 'SalesLLM-zh-hard'"):
        EnvId.parse("SalesLLM-zh-hrad")


def test_gymnasium_module_prefix_form_needs_no_import():
    code = "import gymnasium as g; print(type(g.make('salesenv:salesenv/SalesLLM-zh-hard-v0').unwrapped).__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SalesEnv"


# --- newcomer mistakes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--limit", "-1"],
        ["--limit", "0"],
        ["--suite", "SalesLLM-en-hard", "--episodes", "-5"],
        ["--trials", "0"],
        ["--num-envs", "0"],
    ],
)
def test_counts_below_one_are_refused(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--out", str(tmp_path / "r"), *argv])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("spelling", ["very_hard", "veryhard"])
def test_difficulty_option_takes_both_spellings(spelling, tmp_path, capsys):
    out = tmp_path / spelling
    status, _, err = run_cli(
        capsys, "eval", "--out", out, "--difficulty", spelling, "--limit", 2,
        "--language", "zh", "--no-progress", "agent=scripted",
    )  # fmt: skip
    assert status == 0, err
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert {r["difficulty"] for r in records} == {"very_hard"}
    with pytest.raises(SystemExit):
        main(["eval", "--out", str(out), "--difficulty", "brutal"])
    assert "choose one of easy" in capsys.readouterr().err


@pytest.mark.parametrize("group", ["judge", "scorer"])
def test_llm_graders_without_a_model_are_refused_before_any_episode(group, tmp_path, capsys):
    out = tmp_path / "r"
    status, _, err = run_cli(capsys, "eval", "--out", out, "--limit", 2, f"{group}=llm")
    assert status == 2
    assert f"{group}=llm asks the customer's model" in err
    assert "persona customer has no language model" in err and f"{group}.backend=" in err
    assert not (out / "episodes.jsonl").exists()


def test_play_leaves_on_end_of_input(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello!\n"))
    status, stdout, _ = run_cli(capsys, "play", "--env", "SalesLLM-en-easy", "--no-prompt")
    assert status == 0
    assert stdout.count("you> ") == 2 and "You left the conversation" in stdout
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\nnever read\n"))
    status, stdout, _ = run_cli(capsys, "play", "--env", "SalesLLM-en-easy", "--no-prompt")
    assert status == 0 and stdout.count("you> ") == 1 and "not scored" in stdout


def test_play_help_documents_the_controls_and_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["play", "--help"])
    text = capsys.readouterr().out
    assert "default SalesLLM-en-medium" in text
    assert "Ctrl-D or /quit" in text and "empty line is a" in text


def test_env_variants_come_from_the_catalog():
    from salesenv.ids import VARIANTS
    from salesenv.registry import ENTRY_POINTS

    rows = catalog.options("env")
    assert VARIANTS == ("", "longhorizon", "portfolio") == tuple(ENTRY_POINTS)
    assert ENTRY_POINTS["portfolio"] == rows[2].target.replace(
        ".PortfolioSalesEnv", ":PortfolioSalesEnv"
    )
    with pytest.raises(ValueError, match="registered at import"):
        catalog.add(catalog.Component("env", "weekly", "salesenv.env.SalesEnv", "x"))
