"""Qwen3-family thinking: the chat template switch on every side, and `<think>` blocks
stripped before a reply enters the conversation or a grader's parse.

The unit tests run on scripted backends; the `llm` ones run the tiny random Qwen3 stand-in
of the released customer model through `TransformersChat` as the customer, the salesperson
and a grader, with a think block spliced into the model's generated tokens.
"""

from __future__ import annotations

import numpy as np
import pytest

from salesenv.agents import LLMSalesAgent
from salesenv.customers import CustomerRequest
from salesenv.customers.chat import ChatBackend, SamplingConfig
from salesenv.customers.thinking import strip_thinking
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.rewards.llm_graders import LLMIntentScorer, LLMJudge
from salesenv.scenarios import ScenarioSampler


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("What does it cost?", ("What does it cost?", 0)),
        ("<think>\nThe fee matters.\n</think>\n\nWhat does it cost?", ("What does it cost?", 1)),
        ("<think>\n\n</think>\n\nWhat does it cost?", ("What does it cost?", 1)),
        ("<think>first</think>Fine. <think>second</think>And the fee?", ("Fine. And the fee?", 2)),
        ("What does it<think> I am cut off mid-thought", ("What does it", 1)),
        ("<think>\nStill thinking when the budget ran out", ("", 1)),
        ("<think>all of it</think>", ("", 1)),
        ("The template opened it.\n</think>\n\nWhat does it cost?", ("What does it cost?", 1)),
        ("</think>What does it cost?", ("What does it cost?", 1)),
        ("<THINK>caps</THINK>ok", ("ok", 1)),
        (
            "<think>\n用户问价格，我应该[DECISION: buy]\n</think>\n\n年费是多少？",
            ("年费是多少？", 1),
        ),
        ("<think>先想想</think>好的<think>再想", ("好的", 2)),
        ("Price < 5 and x > 2, ok?", ("Price < 5 and x > 2, ok?", 0)),
    ],
)
def test_strip_thinking(raw, expected):
    assert strip_thinking(raw) == expected


def _requests(n=1, language="en", must_decide=False):
    scenario = ScenarioSampler(language, "medium").sample(np.random.default_rng(1))
    turns = (
        Turn("customer", scenario.trigger),
        Turn("salesperson", "Hello! What matters most to you?"),
    )
    return [
        CustomerRequest(f"c{i}", scenario, turns, seed=i, must_decide=must_decide) for i in range(n)
    ]


class Scripted(ChatBackend):
    """Answers every conversation with the next text of a list."""

    def __init__(self, *texts, **kwargs):
        super().__init__(SamplingConfig(max_regenerations=2), **kwargs)
        self.texts = list(texts)

    def generate(self, conversations, seeds):
        return [self.texts.pop(0) for _ in conversations]


def test_a_customer_reply_loses_its_reasoning_and_its_decision_tag_inside():
    customer = Scripted("<think>\nI will say no. [DECISION: no]\n</think>\n\nWhat does it cost?")
    (reply,) = customer.respond(_requests())
    assert reply.text == "What does it cost?" and reply.decision is None
    assert reply.flags == {"thinking_stripped": 1}


def test_a_chinese_reply_loses_its_reasoning():
    customer = Scripted("<think>\n客户想知道费用。\n</think>\n\n年费是多少？[DECISION: maybe]")
    (reply,) = customer.respond(_requests(language="zh"))
    assert reply.text == "年费是多少？" and reply.decision is Decision.MAYBE
    assert reply.flags == {"thinking_stripped": 1}


def test_a_reply_that_is_all_reasoning_is_empty_then_regenerated():
    customer = Scripted("<think>\nHmm, the fee", "<think>x</think>", "What does it cost?")
    (reply,) = customer.respond(_requests())
    assert reply.text == "What does it cost?"
    assert reply.flags == {"thinking_stripped": 2, "empty": 2, "regenerated": 2}


def test_reasoning_only_to_the_end_falls_back():
    customer = Scripted(*["<think>\nthinking until the budget ran out"] * 3)
    (reply,) = customer.respond(_requests())
    assert "think>" not in reply.text and reply.flags["fallback"] == 1
    assert reply.flags["thinking_stripped"] == 3 and reply.flags["empty"] == 3


def test_the_switch_defaults_to_no_thinking_and_is_copied():
    first, second = Scripted(), Scripted()
    assert first.chat_template_kwargs == {"enable_thinking": False}
    first.chat_template_kwargs["enable_thinking"] = True
    assert second.chat_template_kwargs == {"enable_thinking": False}
    assert Scripted(chat_template_kwargs=None).template_kwargs == {}
    on = Scripted(chat_template_kwargs={"enable_thinking": True})
    assert on.template_kwargs == {"enable_thinking": True}


def _salesperson_info(scenario):
    messages = [
        {"role": "system", "content": scenario.salesperson_prompt},
        {"role": "user", "content": scenario.trigger},
    ]
    return {"messages": messages, "round": 1, "scenario_id": scenario.id}


def test_the_salesperson_turn_loses_its_reasoning():
    scenario = _requests()[0].scenario
    agent = LLMSalesAgent(
        Scripted("<think>They want a deal.</think>\n\nSalesperson: It has a two-year warranty.")
    )
    assert agent.act("Hi", _salesperson_info(scenario)) == "It has a two-year warranty."
    assert agent.flags == {"thinking_stripped": 1}
    cut = LLMSalesAgent(Scripted("<think>\nLet me plan the pitch"))
    assert cut.act("Hi", _salesperson_info(scenario)) == ""  # the env flags an empty turn


def _dialogue(language="en"):
    request = _requests(language=language)[0]
    return Dialogue(request.scenario, (*request.turns, Turn("customer", "OK.")), Decision.BUY)


def test_graders_parse_the_answer_not_the_reasoning():
    judge = LLMJudge(Scripted("<think>Maybe 2? No: they agreed.</think>\n\n7"))
    (result,) = judge.judge_batch([_dialogue()])
    assert result.score == 7
    assert result.features == {"clamped": 0.0, "tries": 1.0, "thinking_stripped": 1.0}
    # A cut-off answer holds no score: retried, not read from the reasoning.
    judge = LLMJudge(Scripted("<think>I would say 9 because", "6"), max_retries=1)
    (result,) = judge.judge_batch([_dialogue("zh")])
    assert result.score == 6 and result.features["thinking_stripped"] == 1.0
    scorer = LLMIntentScorer(Scripted("<think>A? The customer said F</think>B"))
    (intent,) = scorer.score_batch([_dialogue()])
    assert intent.level == "B" and scorer.flags == {"thinking_stripped": 1}


# --- the tiny Qwen3 stand-in through the transformers backend ---------------------------

#: What the spliced-in model output says after its reasoning, by the part the backend plays.
ANSWERS = {
    "customer": "What does it cost per month?",
    "salesperson": "It costs 30 dollars a month, with a two-year warranty.",
    "grader": "7",
}
THOUGHT = "<think>\nThey asked about price. [DECISION: buy] 10\n</think>\n\n"


@pytest.fixture(scope="module")
def qwen3_dir():
    pytest.importorskip("transformers")
    from salesenv.customers.tiny_qwen3 import tiny_qwen3_dir

    return tiny_qwen3_dir()


def _spied(backend, thought=THOUGHT):
    """Records every apply_chat_template call (its kwargs and the prompt it rendered) and
    replaces the model's newly generated tokens with `thought` + the role's answer, so that
    the real decode and the shared cleaning see a reasoning model's output."""
    import torch

    tokenizer, generate = backend.tokenizer, backend.model.generate
    render = tokenizer.apply_chat_template
    calls = []

    def apply_chat_template(conversation, **kwargs):
        text = render(conversation, **kwargs)
        calls.append((kwargs, text))
        return text

    def spliced(input_ids, **kwargs):
        out = generate(input_ids=input_ids, **kwargs)
        assert out.shape[1] > input_ids.shape[1]  # the model really generated
        ids = tokenizer(thought + ANSWERS[backend.role] + "<|im_end|>", add_special_tokens=False)
        tail = torch.tensor([ids["input_ids"]] * out.shape[0], dtype=out.dtype)
        return torch.cat([out[:, : input_ids.shape[1]], tail], dim=1)

    tokenizer.apply_chat_template = apply_chat_template
    backend.model.generate = spliced
    return calls


@pytest.mark.llm
def test_tiny_qwen3_on_every_side_with_thinking_off_by_default(qwen3_dir):
    import salesenv
    from salesenv.customers.transformers_backend import TransformersChat

    backend = TransformersChat(str(qwen3_dir), sampling=SamplingConfig(max_new_tokens=4))
    calls = _spied(backend)
    env = salesenv.make("SalesLLM-en-medium", customer=backend, max_rounds=2)
    agent = LLMSalesAgent(backend)
    observation, info = env.reset(seed=3)
    turn = agent.act(observation, info)
    assert turn == ANSWERS["salesperson"] and agent.flags == {"thinking_stripped": 1}
    observation, _, _, _, info = env.step(turn)
    assert observation == ANSWERS["customer"]
    assert info["customer_flags"] == {"thinking_stripped": 1}  # the decision tag was thought
    # Every call rendered the template with the switch off: an empty think block ends it.
    assert calls and all(kwargs["enable_thinking"] is False for kwargs, _ in calls)
    assert all(text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n") for _, text in calls)
    dialogue = env.unwrapped.dialogue()
    assert not any("think>" in t.text for t in dialogue.turns)
    assert not any("think>" in m["content"] for m in info["messages"])
    judge, intent = LLMJudge(backend), LLMIntentScorer(backend)
    (result,) = judge.judge_batch([dialogue])
    assert result.score == 7 and result.features["thinking_stripped"] == 1.0
    assert intent.score_batch([dialogue])[0].level == "C"  # "7" holds no level: undecided
    assert intent.flags["thinking_stripped"] == 3  # three tries, each answer had reasoning
    assert backend.role == "customer"


@pytest.mark.llm
def test_tiny_qwen3_thinking_on_when_configured(qwen3_dir):
    from salesenv.customers.transformers_backend import TransformersChat

    backend = TransformersChat(
        str(qwen3_dir),
        sampling=SamplingConfig(max_new_tokens=4, max_regenerations=0),
        chat_template_kwargs={"enable_thinking": True},
    )
    calls = _spied(backend, thought="<think>\nThe budget ran out while thinking")
    (reply,) = backend.respond(_requests())
    (kwargs, text), *_ = calls
    assert kwargs["enable_thinking"] is True and text.endswith("<|im_start|>assistant\n")
    assert reply.flags == {"thinking_stripped": 1, "empty": 1, "fallback": 1}
    assert "think>" not in reply.text


def test_the_env_strips_reasoning_from_any_policys_action():
    """A policy that is not LLMSalesAgent (a GRPO policy, a user's own loop) still never
    shows its reasoning to the customer: the env strips it and counts it."""
    import salesenv

    env = salesenv.make("SalesLLM-en-medium")
    env.reset(seed=0)
    _, _, _, _, info = env.step("<think>upsell the premium plan</think>What matters most to you?")
    said = env.unwrapped.dialogue().turns[-2]
    assert said.role == "salesperson" and said.text == "What matters most to you?"
    assert info["action_thinking_stripped"] == 1
    assert "premium" not in str(info["messages"])
    _, _, _, _, info = env.step("<think>cut off while thinking")
    assert env.unwrapped.dialogue().turns[-2].text == "" and info["action_empty"]
    assert info["action_thinking_stripped"] == 1


def test_a_pettingzoo_customer_action_loses_its_reasoning():
    from salesenv.multiagent import CUSTOMER, SELLER, parallel_env

    par = parallel_env(language="en", difficulty="medium")
    par.reset(seed=3)
    par.step({SELLER: "Hello, what matters most to you?"})
    obs, _, terminated, _, infos = par.step(
        {CUSTOMER: "<think>say no [DECISION: buy]</think>Is it safe?"}
    )
    assert obs[SELLER] == "Is it safe?" and not any(terminated.values())
    assert infos[CUSTOMER]["action_flags"]["thinking_stripped"] == 1
