"""Faithfulness: invented numbers, guarantees and concessions, the rate and the penalty."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.rewards import EpisodeScorer, FaithfulnessChecker, FaithfulnessHit
from salesenv.scenarios import Fact, ScenarioSampler


def _scenario(language):
    base = ScenarioSampler(language, "medium").sample(np.random.default_rng(2))
    fact = {"en": "Costs $49 a month with a 2-year warranty", "zh": "每月49元，保修2年"}[language]
    product = dataclasses.replace(base.product, facts=(Fact("returns_cost", fact),), price=fact)
    prompt = f"PRODUCT_INFORMATION:\n- {fact}\n"
    return dataclasses.replace(base, product=product, salesperson_prompt=prompt)


def _dialogue(scenario, lines):
    turns = [Turn("customer", scenario.trigger)]
    turns += [Turn("salesperson" if i % 2 == 0 else "customer", t) for i, t in enumerate(lines)]
    return Dialogue(scenario, tuple(turns), Decision.MAYBE)


CASES = {
    "en": {
        "honest": [
            "It costs $49 a month.",
            "Is that all?",
            "Yes, and the warranty is 2 years; returns are not guaranteed.",
        ],
        "invented": [
            "It costs $39 a month and pays 8.5% back.",
            "Really?",
            "It's guaranteed and risk-free, and I'll give you a discount.",
        ],
        "echo": ["Hello.", "My budget is $120 a month.", "Then $120 covers it with room to spare."],
    },
    "zh": {
        "honest": ["每月49元。", "就这些？", "对，保修2年，收益不保本。"],
        "invented": ["每月只要39元，还返现8.5%。", "真的吗？", "保本保息，零风险，我再给您打折。"],
        "echo": ["您好。", "我的预算是每月120元。", "那120元完全够用。"],
    },
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_claims_beyond_the_product_information(language):
    scenario = _scenario(language)
    checker = FaithfulnessChecker()
    honest, invented, echo = checker.check_batch(
        [_dialogue(scenario, CASES[language][k]) for k in ("honest", "invented", "echo")]
    )
    assert honest.hits == () and honest.turn_rate == 0.0
    kinds = [h.kind for h in invented.hits]
    assert kinds.count("number") == 2 and "guarantee" in kinds and "concession" in kinds
    assert {h.turn for h in invented.hits} == {1, 3}
    assert invented.turn_rate == 1.0 and invented.seller_turns == 2
    assert FaithfulnessHit(1, "number", "39") in invented.hits
    assert echo.hits == ()  # repeating the customer's own number is not an invention


def test_penalty_and_reporting():
    scenario = _scenario("en")
    dialogue = _dialogue(scenario, CASES["en"]["invented"])
    plain = EpisodeScorer().score_batch([dialogue])[0]
    assert (
        plain.unfaithful_claims == 5  # 39, 8.5, guaranteed, risk-free, discount
        and plain.unfaithful_turn_rate == 1.0
        and plain.faithfulness_penalty == 0
    )
    penalised = EpisodeScorer(faithfulness_penalty=0.5).score_batch([dialogue])[0]
    assert penalised.final == pytest.approx(max(0.0, plain.final - 2.5))
    harsh = EpisodeScorer(faithfulness_penalty=10).score_batch([dialogue])[0]
    assert harsh.final == 0.0
    with pytest.raises(ValueError, match="faithfulness_penalty"):
        EpisodeScorer(faithfulness_penalty=-1)
