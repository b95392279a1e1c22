"""The persona customer is fair across difficulties and does not depend on hash randomization.

Fairness rule (`salesenv.customers.temperament`): for the same salesperson turns, a customer
of an easier difficulty never ends with a lower intent level than a harder one, and whether
a conversation that sells nothing ends with a clear no (C) or a brush-off (X) depends only on
whether the salesperson gave product facts, never on the difficulty.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

import salesenv
from salesenv.agents import PassiveSalesAgent, RandomSalesAgent
from salesenv.agents.restate import restate
from salesenv.customers.base import CustomerRequest
from salesenv.customers.persona import PersonaCustomer
from salesenv.customers.temperament import TEMPERAMENTS, decide
from salesenv.dialogue import Decision, Turn
from salesenv.evaluation import run_episode
from salesenv.scenarios.scenario import DIFFICULTIES
from salesenv.scenarios.seed import load_seed

POINTS = {"A": 10, "B": 8, "C": 6, "X": 4, "F": 2}
PROPENSITY = {d: p.buy_propensity for d, p in load_seed().difficulties.items()}
IDLE = {"en": "Let me know if you have any questions.", "zh": "您有什么问题可以随时问我。"}
PRESSURE = {
    "en": "Only today! Buy now, the offer ends soon.",
    "zh": "只有今天！马上下单，名额有限。",
}
CLOSE = {
    "en": "If that fits what you need, shall we go ahead and get you started?",
    "zh": "如果这些符合您的需要，要不要我现在帮您办理？",
}
MAX_ROUNDS = 20


def _suite_scenarios(language: str, n: int) -> list:
    return salesenv.load_suite("salesllm-1805").filter(language=language).scenarios[:n]


def _at(scenario, difficulty: str):
    """The same product and persona at another difficulty (its buy propensity too)."""
    return dataclasses.replace(
        scenario, difficulty=difficulty, buy_propensity=PROPENSITY[difficulty]
    )


def _play(customer, scenario, lines, conversation: str, max_rounds: int = MAX_ROUNDS):
    """Plays fixed salesperson lines until the customer decides (it must at `max_rounds`).

    Returns:
        (decision, number of salesperson turns the customer heard).
    """
    lines = lines[:max_rounds]
    turns = [Turn("customer", scenario.trigger)]
    for i, line in enumerate(lines, 1):
        turns.append(Turn("salesperson", line))
        request = CustomerRequest(conversation, scenario, tuple(turns), 0, i == len(lines))
        reply = customer.respond([request])[0]
        turns.append(Turn("customer", reply.text))
        if reply.decision is not None:
            return reply.decision, i
    raise AssertionError("the customer did not decide on the last turn")


def _patterns(scenario) -> dict[str, list[str]]:
    """Fixed salesperson behaviours: passive, fact-giving, closing, pressing, random."""
    lang = scenario.language
    facts = [f.text for f in scenario.product.facts]
    idle = [IDLE[lang]] * MAX_ROUNDS
    rng = random.Random(scenario.id)
    stock = [IDLE[lang], PRESSURE[lang], CLOSE[lang], "", *facts]
    return {
        "idle": idle,
        "one fact, then idle": facts[:1] + idle,
        "all facts, then idle": facts + idle,
        "facts and closes": facts[:3] + [CLOSE[lang]] * 3 + facts[3:] + idle,
        "pressure": facts[:2] + [PRESSURE[lang]] * 5 + idle,
        "random": [rng.choice(stock) for _ in range(MAX_ROUNDS)],
    }


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_same_salesperson_turns_never_end_better_with_a_harder_customer(language):
    # For each harder customer: the turns it heard before deciding are played to every
    # easier one, which must then decide (or has decided earlier) at least as well.
    customer = PersonaCustomer()
    checked = 0
    for scenario in _suite_scenarios(language, 6):
        variants = [_at(scenario, d) for d in DIFFICULTIES]
        for name, lines in _patterns(scenario).items():
            ends = [_play(customer, v, lines, f"{name}:{v.difficulty}") for v in variants]
            for hard in range(1, len(variants)):
                decision, heard = ends[hard]
                for easy in range(hard):
                    easier, _ = _play(
                        customer, variants[easy], lines, f"{name}:{easy}<{hard}", max_rounds=heard
                    )
                    assert POINTS[easier.intent_level] >= POINTS[decision.intent_level], (
                        f"{scenario.id} {name!r}: {DIFFICULTIES[easy]} ends {easier.value} "
                        f"after the {heard} turns after which {DIFFICULTIES[hard]} ends "
                        f"{decision.value}"
                    )
                    checked += 1
    assert checked == 6 * 6 * 10


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_easy_customer_whose_questions_get_facts_does_not_brush_off(language):
    customer = PersonaCustomer()
    env = salesenv.make(f"SalesLLM-{language}-mixed", customer=customer)
    answered = 0
    for scenario in _suite_scenarios(language, 30):
        easy = _at(scenario, "easy")
        record = run_episode(env, PassiveSalesAgent(), seed=0, options={"scenario": easy})
        facts = {restate(f.text, language) for f in easy.product.facts}
        said = [t["text"].rstrip("。. ") for t in record.transcript if t["role"] == "salesperson"]
        if any(line in facts for line in said):
            answered += 1
            assert record.decision in ("buy", "maybe", "no"), (scenario.id, record.decision)
    assert answered >= 20


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_customer_never_engaged_brushes_off_at_every_difficulty(language):
    customer = PersonaCustomer()
    for scenario in _suite_scenarios(language, 6):
        for difficulty in DIFFICULTIES:
            lines = [IDLE[language]] * MAX_ROUNDS
            decision, _ = _play(customer, _at(scenario, difficulty), lines, difficulty)
            assert decision is Decision.BRUSH_OFF, (scenario.id, difficulty, decision)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_passive_and_random_agents_intent_never_rises_with_difficulty(language):
    # The same 20 products and personas at each difficulty; the agents react to the
    # customer, so this checks the policies, not only fixed transcripts.
    customer = PersonaCustomer()
    env = salesenv.make(f"SalesLLM-{language}-mixed", customer=customer)
    scenarios = _suite_scenarios(language, 20)
    for agent in (PassiveSalesAgent(), RandomSalesAgent()):
        means = []
        for difficulty in DIFFICULTIES:
            points = [
                run_episode(env, agent, seed=0, options={"scenario": _at(s, difficulty)}).score[
                    "intent"
                ]
                for s in scenarios
            ]
            means.append(sum(points) / len(points))
        assert means == sorted(means, reverse=True), (agent.name, means)
        assert means[0] > means[-1], (agent.name, means)


def _state(difficulty: str, **changes) -> SimpleNamespace:
    temper = TEMPERAMENTS[difficulty]
    state = dict(
        temperament=temper,
        hostility=0.0,
        intent=0.3,
        seller_turns=4,
        unproductive=0,
        buy_threshold=temper.buy_threshold,
        agenda=["a question"],
        close_attempts=0,
        idle=0,
        engaged=False,
    )
    return SimpleNamespace(**{**state, **changes})


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_no_or_brush_off_depends_on_engagement_not_difficulty(difficulty):
    patience = TEMPERAMENTS[difficulty].patience
    endings = {
        "gave up": dict(intent=0.0),
        "out of patience": dict(unproductive=patience + 1),
        "last round": dict(),
        "nothing left to ask": dict(agenda=[], idle=2),
    }
    for name, changes in endings.items():
        must = name == "last round"
        engaged = decide(_state(difficulty, engaged=True, **changes), False, must)
        ignored = decide(_state(difficulty, engaged=False, **changes), False, must)
        assert (engaged, ignored) == (Decision.NO, Decision.BRUSH_OFF), name
    # Still interested when patience runs out: "maybe later", engaged or not a brush-off.
    keen = dict(intent=0.7, unproductive=patience + 1)
    assert decide(_state(difficulty, engaged=True, **keen), False, False) is Decision.MAYBE
    assert decide(_state(difficulty, engaged=False, **keen), False, False) is Decision.BRUSH_OFF
    angry = _state(difficulty, engaged=True, intent=0.0, hostility=1.0)
    assert decide(angry, False, False) is Decision.HOSTILE


def test_temperaments_are_ordered_by_difficulty():
    """What makes an easier customer's intent never lower for the same turns: it starts
    higher, gains more, loses less, and stays longer; it turns hostile later."""
    tempers = [TEMPERAMENTS[d] for d in DIFFICULTIES]
    propensities = [PROPENSITY[d] for d in DIFFICULTIES]
    assert propensities == sorted(propensities, reverse=True)
    for field in ("gain", "patience", "hostility_limit"):
        values = [getattr(t, field) for t in tempers]
        assert values == sorted(values, reverse=True), field
    penalties = [t.penalty for t in tempers]
    assert penalties == sorted(penalties)
    alone = [t.decides_alone for t in tempers]
    assert alone == sorted(alone, reverse=True)  # only the easiest ones decide alone


# -- determinism across processes ---------------------------------------------------------

_REPLAY = textwrap.dedent(
    """
    import json
    from salesenv.customers.persona import PersonaCustomer
    from salesenv.customers.replay import ReplayCase, replay
    from salesenv.dialogue import Turn
    from salesenv.scenarios.scenario import Scenario

    fixtures = json.loads({fixtures!r})
    cases = []
    for i, (lang, customer_prompt, salesperson_prompt, lines) in enumerate(fixtures):
        trigger = "Hi, tell me about it." if lang == "en" else "你好，介绍一下。"
        scenario = Scenario(
            lang, "medium", 0.5, customer_prompt, salesperson_prompt, trigger, source="salesllm"
        )
        turns = [Turn("customer", trigger)]
        for line in lines:
            turns += [Turn("salesperson", line), Turn("customer", "...")]
        cases.append(ReplayCase(f"case-{{i}}", scenario, tuple(turns)))
    out = replay(PersonaCustomer(), cases)
    print(json.dumps([[t.generated, t.decision and t.decision.value] for c in out for t in c]))
    """
)

# Prompt-only scenarios whose customer prompts name several factors equally often (ties in
# the ranking of decision factors) and salesperson turns that restate several facts at once.
_FIXTURES = [
    (
        "en",
        "You are a careful buyer.\nYou ask about the price, the warranty, the delivery time "
        "and the reviews.\nYou worry about the brand, the quality and the contract terms.",
        "Product: Acme Kettle\n- Price: 49 dollars, free returns within 30 days\n"
        "- Warranty: two-year warranty with customer support by phone\n"
        "- Delivery: shipping within 2 days\n- Reviews: rated 4.7 stars by buyers\n"
        "- Brand: a trusted brand with a long track record\n"
        "- Quality: durable steel body, well made\n- Terms: no contract, cancel any time",
        [
            "Hello! What matters most to you?",
            "The price is 49 dollars with free returns, and the two-year warranty includes "
            "customer support by phone.",
            "Let me know if you have any questions.",
            "Shipping takes 2 days and buyers rated it 4.7 stars.",
            "Let me know if you have any questions.",
            "It is a trusted brand with a long track record, and the steel body is durable.",
            "Shall we go ahead?",
        ],
    ),
    (
        "zh",
        "你是一位谨慎的买家。\n你关心价格、售后、发货和口碑。\n你担心品牌、质量和合同条款。",
        "产品：好运电水壶\n- 价格：299元，30天内免费退货\n- 售后：两年保修，客服电话支持\n"
        "- 发货：两天内发货\n- 口碑：买家评分4.7\n- 品牌：老牌子，信誉好\n"
        "- 质量：不锈钢材质，做工扎实\n- 条款：无需签合同，随时可取消",
        [
            "您好！您最看重哪些方面？",
            "价格是299元，30天内免费退货；两年保修，客服电话支持。",
            "您有什么问题可以随时问我。",
            "两天内发货，买家评分4.7。",
            "您有什么问题可以随时问我。",
            "我们是老牌子，信誉好；不锈钢材质，做工扎实。",
            "要不要我现在帮您办理？",
        ],
    ),
]


def _replay_in_process(hash_seed: str) -> list:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    code = _REPLAY.format(fixtures=json.dumps(_FIXTURES))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_replies_do_not_depend_on_python_hash_randomization():
    first, second = _replay_in_process("1"), _replay_in_process("2")
    assert len(first) == 2 * 7
    assert first == second
