"""The protocol shared by LLM customers: messages, cleaning, decisions, checks, regeneration."""

from __future__ import annotations

import numpy as np
import pytest

from salesenv.customers.base import CustomerRequest
from salesenv.customers.chat import (
    ChatBackend,
    SamplingConfig,
    clean_reply,
    customer_messages,
    fallback_decision,
    is_role_inversion,
    parse_decision,
    reply_seed,
)
from salesenv.dialogue import Decision, Turn
from salesenv.scenarios import ScenarioSampler


@pytest.fixture
def en_scenario():
    return ScenarioSampler("en", "hard").sample(np.random.default_rng(3))


def _request(scenario, seller_lines, must_decide=False, seed=0):
    turns = [Turn("customer", scenario.trigger)]
    for i, line in enumerate(seller_lines):
        turns.append(Turn("salesperson", line))
        if i < len(seller_lines) - 1:
            turns.append(Turn("customer", f"customer line {i}"))
    return CustomerRequest("c", scenario, tuple(turns), seed, must_decide)


def test_messages_flip_roles_and_keep_the_barrier(en_scenario):
    request = _request(en_scenario, ["Hello there.", "Shall we start?"])
    messages = customer_messages(request)
    assert messages[0]["role"] == "system"
    assert messages[0]["content"].startswith(en_scenario.customer_prompt)
    assert en_scenario.trigger in messages[0]["content"]
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Hello there." and messages[2]["content"] == "customer line 0"
    blob = "\n".join(m["content"] for m in messages)
    assert "PRODUCT_INFORMATION" not in blob
    for fact in en_scenario.product.facts:
        assert fact.text not in blob
    last = customer_messages(_request(en_scenario, ["Hi"], must_decide=True))[0]["content"]
    assert "last reply" in last


@pytest.mark.parametrize(
    ("raw", "text", "decision"),
    [
        ("Sounds good, I'll buy it. [DECISION: buy]", "Sounds good, I'll buy it.", Decision.BUY),
        ("不用了。【DECISION：no】", "不用了。", Decision.NO),
        ("Bye. [decision: Brush_Off]", "Bye.", Decision.BRUSH_OFF),
        ("Let me think. (DECISION: maybe)", "Let me think.", Decision.MAYBE),
        ("No tag here.", "No tag here.", None),
    ],
)
def test_decision_tags(raw, text, decision):
    assert parse_decision(raw) == (text, decision)


def test_fallback_end_detection_is_narrow():
    assert fallback_decision("不要", "zh") is None
    assert fallback_decision("不要这么说，我再听听。", "zh") is None
    assert fallback_decision("no", "en") is None
    assert fallback_decision("No, what does it cost?", "en") is None
    assert fallback_decision("好的，我买了。", "zh") is Decision.BUY
    assert fallback_decision("Not interested, thanks.", "en") is Decision.NO
    assert fallback_decision("I'll think about it and get back to you.", "en") is Decision.MAYBE
    assert fallback_decision("Stop calling me, this is a scam.", "en") is Decision.HOSTILE


def test_clean_reply_strips_prefixes_and_stage_directions():
    assert clean_reply("Customer: (sighs) Fine, what is the fee?", 600) == "Fine, what is the fee?"
    assert clean_reply("顾客：（笑）那利率是多少？", 600) == "那利率是多少？"
    assert (
        clean_reply("**User:** *leans back* Okay.\nAssistant: And the term?", 600)
        == "Okay. And the term?"
    )
    long = "This is a sentence. " * 50
    capped = clean_reply(long, 100)
    assert len(capped) <= 100 and capped.endswith(".")


def test_role_inversion_detection():
    assert is_role_inversion("Hello! How can I help you today?")
    assert is_role_inversion("您好，有什么可以帮您？")
    assert is_role_inversion("We offer a special offer for you.")
    assert not is_role_inversion("How much does it cost per month?")


class ScriptedModel(ChatBackend):
    """A backend whose model outputs are given in advance (to test the shared loop)."""

    name = "scripted-model"

    def __init__(self, outputs, sampling=None):
        super().__init__(sampling)
        self.outputs = list(outputs)
        self.calls: list[tuple[int, list[int]]] = []

    def generate(self, conversations, seeds):
        self.calls.append((len(conversations), list(seeds)))
        return [self.outputs.pop(0) for _ in conversations]


def test_role_inversion_is_regenerated_and_counted(en_scenario):
    model = ScriptedModel(["How can I help you today?", "What does it cost? [DECISION: maybe]"])
    (reply,) = model.respond([_request(en_scenario, ["Hello."])])
    assert reply.text == "What does it cost?"
    assert reply.decision is Decision.MAYBE
    assert reply.flags == {"role_inversion": 1, "regenerated": 1}
    assert [n for n, _ in model.calls] == [1, 1]
    assert model.calls[0][1] != model.calls[1][1]  # a new seed for the new try


def test_bad_output_falls_back_to_a_neutral_turn(en_scenario):
    model = ScriptedModel(["", "   ", "..."], SamplingConfig(max_regenerations=2))
    (reply,) = model.respond([_request(en_scenario, ["Hello."])])
    assert (
        reply.flags["empty"] == 3
        and reply.flags["fallback"] == 1
        and reply.flags["regenerated"] == 2
    )
    assert reply.text == "Sorry, could you say that again? I'm not sure what you mean."
    assert reply.decision is None


def test_wrong_language_and_repetition_are_caught(en_scenario):
    seller = "Our premium plan includes free delivery and a warranty."
    model = ScriptedModel(
        [
            "您好，这个我不需要。",
            f"Well, {seller}",
            "word word word word word word word word word word word word",
            "Is delivery really free?",
        ],
        SamplingConfig(max_regenerations=3),
    )
    (reply,) = model.respond([_request(en_scenario, [seller])])
    assert reply.text == "Is delivery really free?"
    assert reply.flags["wrong_language"] == 1 and reply.flags["repetition"] == 2


def test_batch_regenerates_only_the_failing_conversations(en_scenario):
    model = ScriptedModel(["Fine.", "How may I help you?", "Okay then.", "And the fee?"])
    requests = [_request(en_scenario, ["Hi"], seed=s) for s in range(3)]
    replies = model.respond(requests)
    assert [r.text for r in replies] == ["Fine.", "And the fee?", "Okay then."]
    assert [n for n, _ in model.calls] == [3, 1]


def test_must_decide_without_a_decision_is_flagged(en_scenario):
    (reply,) = ScriptedModel(["Hmm, interesting."]).respond(
        [_request(en_scenario, ["Hi"], must_decide=True)]
    )
    assert reply.decision is None and reply.flags == {"undecided": 1}


def test_reply_seeds_are_stable_and_distinct(en_scenario):
    request = _request(en_scenario, ["Hi"])
    assert reply_seed(request, 0) == reply_seed(request, 0)
    assert len({reply_seed(request, a) for a in range(5)}) == 5
    assert 0 <= reply_seed(request, 0) < 2**31


def test_sampling_config_is_checked():
    with pytest.raises(ValueError):
        SamplingConfig(top_p=0)
    with pytest.raises(ValueError):
        SamplingConfig(max_regenerations=-1)


def test_no_regeneration_budget_means_one_try(en_scenario):
    model = ScriptedModel(["How can I help you?"], SamplingConfig(max_regenerations=0))
    (reply,) = model.respond([_request(en_scenario, ["Hello."])])
    assert reply.flags == {"role_inversion": 1, "fallback": 1}
    assert len(model.calls) == 1
