"""The long-horizon variant: follow-up sessions after a clear no, history in both prompts,
at most three sessions, a score over the whole history."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.customers import PersonaCustomer
from salesenv.customers.base import CustomerLM, CustomerReply
from salesenv.customers.chat import customer_messages
from salesenv.customers.persona import FOLLOWUP_COOLDOWN, FOLLOWUP_MIN_INTENT
from salesenv.dialogue import Decision
from salesenv.evaluation import run_episode
from salesenv.longhorizon import LongHorizonSalesEnv
from salesenv.rewards import EpisodeScorer
from tests.test_vector import play_vector_against_singles


class ScriptedCustomer(CustomerLM):
    """Answers every request with the next decision of a script, recording the requests."""

    name = "scripted-customer"
    deterministic = True

    def __init__(self, decisions):
        self.decisions = list(decisions)
        self.requests = []

    def respond(self, requests):
        replies = []
        for request in requests:
            self.requests.append(request)
            decision = self.decisions.pop(0) if self.decisions else None
            text = f"CUSTOMER-CLOSING-{len(self.requests)}" if decision else "Go on."
            replies.append(CustomerReply(text=text, decision=decision))
        return replies


class RecordingScorer(EpisodeScorer):
    def __init__(self):
        super().__init__()
        self.dialogues = []

    def score_batch(self, dialogues):
        self.dialogues.extend(dialogues)
        return super().score_batch(dialogues)


@pytest.mark.parametrize(
    "env_id", ["SalesLLM-zh-hard-longhorizon", "SalesLLM-en-veryhard-longhorizon"]
)
def test_check_env(env_id):
    check_env(salesenv.make(env_id).unwrapped)


def test_ids_resolve_for_every_difficulty_and_language():
    ids = salesenv.list_envs("longhorizon")
    assert len(ids) == 12 and "SalesLLM-zh-veryhard-longhorizon" in ids
    env = gym.make("salesenv/SalesLLM-en-easy-longhorizon-v0")
    assert isinstance(env.unwrapped, LongHorizonSalesEnv)
    assert salesenv.make("SalesLLM-en-easy-longhorizon").unwrapped.sessions_max == 3
    with pytest.raises(salesenv.UnknownEnvError, match="SalesLLM-en-easy-longhorizon"):
        salesenv.make("SalesLLM-en-easy-longhorizn")


def test_clear_no_opens_a_follow_up_with_the_history_in_both_prompts(language):
    customer = ScriptedCustomer([Decision.NO, Decision.NO, Decision.NO])
    scorer = RecordingScorer()
    env = salesenv.make(f"SalesLLM-{language}-hard-longhorizon", customer=customer, scorer=scorer)
    obs, info = env.reset(seed=3)
    first_prompt = info["system_prompt"]
    assert (info["session"], info["sessions_max"]) == (1, 3)

    obs, reward, terminated, truncated, info = env.step("SELLER-LINE-ONE")
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["session"] == 2 and info["session_ended"] is True
    assert info["session_decision"] == "no" and info["closing_reply"] == "CUSTOMER-CLOSING-1"
    assert info["round"] == 0 and "score" not in info
    assert obs == env.unwrapped.scenario.trigger and obs != env.unwrapped.sessions[0].turns[0].text
    assert info["messages"][1] == {"role": "user", "content": obs}
    system = info["messages"][0]["content"]
    assert system.startswith(first_prompt)
    marker = "EARLIER SESSIONS" if language == "en" else "之前的沟通"
    for text in ("SELLER-LINE-ONE", "CUSTOMER-CLOSING-1", marker):
        assert text in system

    env.step("SELLER-LINE-TWO")
    request = customer.requests[-1]  # the first request of session 2
    assert len(request.earlier_sessions) == 1
    assert request.earlier_sessions[0].decision is Decision.NO
    for text in ("SELLER-LINE-ONE", "CUSTOMER-CLOSING-1", marker):
        assert text in request.scenario.customer_prompt
        assert text in customer_messages(request)[0]["content"]  # what an LLM customer sees
    assert "SELLER-LINE-TWO" not in request.scenario.customer_prompt

    # Session 3 is the last one: its clear no ends the episode.
    obs, reward, terminated, truncated, info = env.step("SELLER-LINE-THREE")
    assert terminated and not truncated
    assert info["sessions"] == 3 and info["session_decisions"] == ["no", "no", "no"]
    assert info["score"]["sessions"] == 3 and reward == info["score"]["final"]
    with pytest.raises(gym.error.ResetNeeded):
        env.step("one more")

    # The score covers every session, each opened by its marker.
    scored = scorer.dialogues[-1]
    sellers = [t.text for t in scored.turns if t.role == "salesperson"]
    assert sellers == ["SELLER-LINE-ONE", "SELLER-LINE-TWO", "SELLER-LINE-THREE"]
    openings = [t.text for t in scored.turns if t.role == "customer" and "CLOSING" not in t.text]
    assert len(openings) == 3
    for k, text in enumerate(openings, start=1):
        assert text.startswith(f"[Session {k}]" if language == "en" else f"【第{k}次沟通】")
    assert scored.scenario == env.unwrapped.sessions[0].scenario  # product info, not the history
    assert [t["session"] for t in info["transcript"]] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    json.dumps(info)


@pytest.mark.parametrize("decision", [Decision.BUY, Decision.MAYBE, Decision.BRUSH_OFF])
def test_any_other_ending_ends_the_episode_and_scores_like_the_plain_env(decision):
    long_env = salesenv.make(
        "SalesLLM-en-medium-longhorizon", customer=ScriptedCustomer([None, decision])
    )
    plain = salesenv.make("SalesLLM-en-medium", customer=ScriptedCustomer([None, decision]))
    for env in (long_env, plain):
        env.reset(seed=1)
        env.step("May I ask what matters most to you?")
    *_, terminated, _, info = long_env.step("Shall we get you started?")
    *_, _, _, plain_info = plain.step("Shall we get you started?")
    assert terminated and info["sessions"] == 1 and info["session_decisions"] == [decision.value]
    assert info["score"]["final"] == plain_info["score"]["final"]


def test_no_at_the_round_limit_also_opens_a_follow_up():
    env = salesenv.make("SalesLLM-en-hard-longhorizon", max_rounds=1)
    env.reset(seed=0)
    decisions = []
    for _ in range(3):
        _, _, terminated, truncated, info = env.step("May I ask what matters most to you?")
        decisions.append(info.get("session_decision") or info.get("decision"))
        if terminated or truncated:
            break
    assert decisions[0] == "no" and info["sessions"] == len(decisions) <= 3
    assert truncated  # the last session ended at its round limit


def test_persona_remembers_earlier_sessions():
    """A turn repeated from session 1 counts as repetition in session 2."""
    customer = PersonaCustomer()
    env = salesenv.make("SalesLLM-en-hard-longhorizon", customer=customer, max_rounds=2)
    env.reset(seed=4)
    line = "Our plan has a long record and many happy customers who recommend it to friends."
    env.step("May I ask what matters most to you?")
    _, _, terminated, truncated, info = env.step(line)
    assert info["session_decision"] == "no" and not (terminated or truncated)
    obs, _, _, _, info = env.step(line)
    assert info["session"] == 2
    # The line also claims what the sheet does not say ("unsupported", reacted to first).
    events = customer.last_events(env.unwrapped._conversation_id)
    assert "repetition" in events, (events, obs)


def test_follow_up_starts_cooler_and_skips_answered_concerns():
    customer = PersonaCustomer()
    env = salesenv.make("SalesLLM-en-hard-longhorizon", customer=customer, max_rounds=4)
    agent = ScriptedSalesAgent()
    obs, info = env.reset(seed=2)
    agent.reset(info)
    while info.get("session", 1) == 1:
        obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
        assert not (terminated or truncated)
    unwrapped = env.unwrapped
    seed = unwrapped._episode_seed
    last = customer._replay(unwrapped.sessions, seed)
    follow_up = customer._start(unwrapped.scenario, seed, last)
    propensity = unwrapped.scenario.buy_propensity
    expected = max(FOLLOWUP_MIN_INTENT, (propensity + last.intent) / 2 - FOLLOWUP_COOLDOWN)
    assert follow_up.intent == pytest.approx(expected)
    assert last.addressed and follow_up.addressed == last.addressed
    for kind, item in follow_up.agenda:
        factor = item if kind == "factor" else item.factor
        assert factor not in last.addressed
    if last.pending:
        assert follow_up.agenda[0] == last.pending  # the concern it left with comes first


def test_same_seed_same_episode():
    env = salesenv.make("SalesLLM-zh-veryhard-longhorizon")
    runs = [run_episode(env, ScriptedSalesAgent(), seed=s) for s in (5, 5, 6)]
    assert runs[0].transcript == runs[1].transcript and runs[0].score == runs[1].score
    assert runs[0].transcript != runs[2].transcript


def test_scripted_agent_gets_follow_ups_and_never_exceeds_three_sessions():
    env = salesenv.make("SalesLLM-en-veryhard-longhorizon")
    sessions = []
    for seed in range(20):
        record = run_episode(env, ScriptedSalesAgent(), seed=seed)
        sessions.append(record.score["sessions"])
        decisions = record.score["session_decisions"]
        assert all(d == "no" for d in decisions[:-1])
        # a follow-up opens with a welcome back, not the first greeting again
        openers = [
            t["text"]
            for i, t in enumerate(record.transcript)
            if t["role"] == "salesperson" and record.transcript[i - 1]["session"] != t["session"]
        ]
        assert not any("advisor for" in text for text in openers)
    assert max(sessions) == 3 and min(sessions) >= 1 and np.mean(sessions) > 1.5


def test_make_vec_runs_the_variant_like_single_envs():
    envs = salesenv.make_vec("SalesLLM-en-veryhard-longhorizon", num_envs=3)
    assert all(isinstance(e, LongHorizonSalesEnv) for e in envs.envs)
    infos = play_vector_against_singles("SalesLLM-en-veryhard-longhorizon", num=3, seed=10)
    assert sum(bool(info.get("session_ended")) for info in infos) >= 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_followups"):
        LongHorizonSalesEnv("en", "hard", max_followups=-1)
    with pytest.raises(ValueError, match="followup_on"):
        LongHorizonSalesEnv("en", "hard", followup_on=["never"])
    env = LongHorizonSalesEnv(
        "en", "hard", max_followups=0, customer=ScriptedCustomer([Decision.NO])
    )
    env.reset(seed=0)
    *_, terminated, _, info = env.step("hello")
    assert terminated and info["sessions"] == 1


def test_last_turn_ends_the_episode_even_on_a_clear_no():
    customer = ScriptedCustomer([Decision.NO, Decision.NO])
    env = salesenv.make("SalesLLM-en-hard-longhorizon", customer=customer, max_rounds=5)
    env.reset(seed=3)
    *_, info = env.step("Would you like it?")
    assert info["session_ended"] and info["session"] == 2 and env.unwrapped.session == 2
    _, reward, terminated, truncated, info = env.unwrapped.step("Last chance?", last_turn=True)
    assert customer.requests[-1].must_decide
    assert truncated and not terminated and "session_ended" not in info
    assert info["sessions"] == 2 and info["session_decisions"] == ["no", "no"]
    assert reward == info["score"]["final"] and len(env.unwrapped.sessions) == 1
