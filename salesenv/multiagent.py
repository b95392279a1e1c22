"""The two-agent sales conversation as a PettingZoo env: agents `seller` and `customer`.

    from salesenv.multiagent import parallel_env, env
    par = parallel_env(language="en", difficulty="hard")
    observations, infos = par.reset(seed=0)
    while par.agents:
        actions = {a: my_policy[a](observations[a], infos[a]) for a in par.agents}
        observations, rewards, terminations, truncations, infos = par.step(actions)

`parallel_env()` returns a `SalesParallelEnv` (PettingZoo's Parallel API); `env()` returns
the AEC form, made with PettingZoo's `parallel_to_aec` converter. The seller's side is a
`SalesEnv` (same scenarios, transcript, info, truncation and score); the customer agent
takes the place of the customer simulator.

Turns. The customer opens with the scenario's trigger sentence (at `reset`, no action
needed); then the seller and the customer alternate, one utterance per `step`. A
conversation is turn-based, and the Parallel API steps every live agent at once, so, as
PettingZoo advises for games where not every agent can act, the off-turn agent's action is
a no-op: `step` accepts an action from every agent and ignores the one whose turn it is
not (any value, None included). `infos[agent]["to_act"]` says whose turn it is. In the
AEC form each agent is asked once per cycle, so half of the asks are off-turn and ignored.

Observations. Each agent observes the latest utterance of the other side (the customer
observes "" before the seller has spoken), a `str` (see `Utterance`) in a `UnicodeText`
space. `infos[agent]` carries what that agent may know, and nothing else:

- seller: the `SalesEnv` info (its system prompt `scenario.salesperson_prompt`, the chat
  from its side as OpenAI-style messages, the product sheet at reset), plus `to_act`.
- customer: `system_prompt` (`scenario.customer_prompt` with the opening line, and the
  "decide now" instruction on its last turn, exactly as LLM customers get it from
  `salesenv.customers.chat.customer_messages`), `messages` (the chat from its side: the
  seller is "user", the customer "assistant"), `to_act`, `must_decide`, `round`,
  `max_rounds`, `language`, `difficulty` and `scenario_id`.

Neither agent's info holds the other side's private script.

Decisions. The customer ends the conversation by putting a decision tag in its utterance,
`[DECISION: buy|maybe|no|brush_off|hostile]`, read with the parser the LLM customers use
(`salesenv.customers.chat.parse_decision`) and removed from the text. Only the tag ends
it: explicit wording without a tag does not. `salesenv.dialogue.decision_tag` builds the
tag.

End. The episode terminates when the customer decides and is truncated after its reply
to the `max_rounds`-th seller turn (then `must_decide` was True for that reply; a reply
without a tag leaves the customer undecided). Both agents end together.

Rewards (0 before the end; at the end):

- seller: the `EpisodeScorer` blended score of the dialogue, 0-10 (`infos["seller"]["score"]`),
  the same number `SalesEnv` gives.
- customer: persona fidelity, 0-10 (`infos["customer"]["fidelity"]`, see
  `salesenv.rewards.PersonaFidelity`):
  `clip(10 * alignment - 2 * role_inverted_turns - 2 * wrong_language_turns, 0, 10)`, where
  alignment compares the customer's decision with the decision the persona simulator
  reaches on the same seller turns and seed: `1 - |rank(decision) - rank(reference)| / 4`
  on the ladder A > B > C > X > F (buy, maybe, no, brush_off, hostile); an undecided
  customer gets alignment 0. A customer turn is role-inverted when
  `salesenv.customers.chat.is_role_inversion` flags it, and in the wrong language when
  `salesenv.cues.in_language` rejects it for the scenario's language. The trigger sentence
  is not counted.

The simulator as the customer. When the customer's action on its turn is None (or
missing from the actions dict), or the env is built with `simulate_customer=True`, the
env's customer backend (the persona simulator by default) says the customer's turn. This
trains a seller through the two-agent API; the fidelity reward still scores the turn.
`salesenv.agents.PersonaCustomerPolicy` plays the same simulator through the customer's
action instead (an oracle: it reads the env's scenario; it scores fidelity 10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from salesenv.cues import in_language
from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.chat import customer_messages, is_role_inversion, parse_decision
from salesenv.customers.thinking import THINKING_FLAG, strip_thinking
from salesenv.dialogue import (
    DECISION_TAG_FORMAT,
    Dialogue,
    Turn,
    decision_tag,
    with_decision,
)
from salesenv.env import MAX_ACTION_CHARS, MAX_OBSERVATION_CHARS, MAX_ROUNDS, SalesEnv
from salesenv.rewards import EpisodeScorer
from salesenv.rewards.persona_fidelity import LADDER, FidelityResult, PersonaFidelity
from salesenv.scenarios.scenario import Scenario
from salesenv.spaces import UnicodeText

SELLER = "seller"
CUSTOMER = "customer"
AGENTS = (SELLER, CUSTOMER)

# Names that lived here before the reward moved to `salesenv.rewards`, the tag helpers to
# `salesenv.dialogue` and the policy to `salesenv.agents`; still importable from here
# (`PersonaCustomerPolicy` through `__getattr__`, below).
__all__ = [
    "AGENTS",
    "CUSTOMER",
    "DECISION_TAG_FORMAT",
    "LADDER",
    "SELLER",
    "FidelityResult",
    "PersonaFidelity",
    "SalesParallelEnv",
    "Utterance",
    "decision_tag",
    "env",
    "parallel_env",
    "with_decision",
]


class Utterance(str):
    """An observation: a plain `str` that also reports numpy's unicode dtype.

    Text spaces declare `dtype = np.dtype(str)`, and PettingZoo's `api_test` compares the
    observation space's dtype with the observation's `.dtype`, which a bare `str` lacks.
    Otherwise it is an ordinary `str` (JSON, slicing, comparisons).
    """

    __slots__ = ()
    dtype: ClassVar[np.dtype] = np.dtype(str)


# -- the env ----------------------------------------------------------------------------------


class SalesParallelEnv(ParallelEnv):
    """A sales conversation between a seller agent and a customer agent (Parallel API).

    See the module docstring for turns, observations, infos, decisions and rewards.

    Args:
        language: "zh" or "en".
        difficulty: A difficulty id, or "mixed" for the benchmark's mix.
        customer: The backend that plays the customer when its action is None or
            `simulate_customer` is set (default: the persona simulator).
        scorer: Scores the seller (default: `EpisodeScorer()`, as in `SalesEnv`).
        fidelity: Scores the customer (default: `PersonaFidelity()`).
        scenarios: A fixed list to draw scenarios from instead of the sampler.
        max_rounds: Seller turns before truncation (20 in the paper).
        max_action_chars: Longer utterances (either agent) are truncated and flagged.
        render_mode: "ansi" (render returns the transcript) or "human" (prints it).
        simulate_customer: The backend plays every customer turn; customer actions are
            ignored (trains a seller through the two-agent API).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "salesenv_two_agent_v0",
        "render_modes": ["human", "ansi"],
        "is_parallelizable": True,
        "render_fps": 1,
    }

    def __init__(
        self,
        language: str = "zh",
        difficulty: str = "hard",
        customer: CustomerLM | None = None,
        scorer: EpisodeScorer | None = None,
        fidelity: PersonaFidelity | None = None,
        scenarios: Sequence[Scenario] | None = None,
        max_rounds: int = MAX_ROUNDS,
        max_action_chars: int = MAX_ACTION_CHARS,
        render_mode: str | None = None,
        simulate_customer: bool = False,
    ) -> None:
        self._env = SalesEnv(
            language=language,
            difficulty=difficulty,
            customer=customer,
            scorer=scorer,
            scenarios=scenarios,
            max_rounds=max_rounds,
            max_action_chars=max_action_chars,
            render_mode=render_mode,
        )
        self.fidelity = fidelity or PersonaFidelity()
        self.simulate_customer = simulate_customer
        self.render_mode = render_mode
        self.max_rounds = max_rounds
        self.max_action_chars = max_action_chars
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self.observation_spaces = {a: UnicodeText(MAX_OBSERVATION_CHARS) for a in AGENTS}
        self.action_spaces = {a: UnicodeText(max_action_chars) for a in AGENTS}
        self._to_act = SELLER
        self._request: CustomerRequest | None = None
        self._observations: dict[str, Utterance] = {}
        self._infos: dict[str, dict[str, Any]] = {}
        self._dialogue: Dialogue | None = None

    # -- spaces and properties ---------------------------------------------------------------

    def observation_space(self, agent: str) -> gym.Space:
        """The agent's observation space (the same object on every call)."""
        return self.observation_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> gym.Space:
        """The agent's action space (the same object on every call)."""
        return self.action_spaces[self._check_agent(agent)]

    @property
    def customer(self) -> CustomerLM:
        """The backend that plays the customer when asked to (see `simulate_customer`)."""
        return self._env.customer

    @property
    def scenario(self) -> Scenario | None:
        """The current scenario (holds both private scripts: not for agents)."""
        return self._env.scenario

    @property
    def pending_request(self) -> CustomerRequest | None:
        """On the customer's turn, the request a customer backend would answer (holds the
        scenario with both private scripts: for oracles such as `PersonaCustomerPolicy`)."""
        return self._request if self.agents and self._to_act == CUSTOMER else None

    @property
    def dialogue(self) -> Dialogue | None:
        """The finished episode's dialogue (None while it runs)."""
        return self._dialogue

    # -- the API -----------------------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Utterance], dict[str, dict[str, Any]]]:
        """Starts a conversation: the customer has said its opening line; the seller acts.

        `options` are those of `SalesEnv.reset` ("scenario" or "scenario_index").
        """
        trigger, seller_info = self._env.reset(seed=seed, options=options)
        scenario = self._env.scenario
        self.agents = list(AGENTS)
        self._to_act = SELLER
        self._request = None
        self._dialogue = None
        self._round = 0
        self._turns: tuple[Turn, ...] = (Turn("customer", trigger),)
        self._observations = {SELLER: Utterance(trigger), CUSTOMER: Utterance("")}
        self._seller_info = seller_info
        self._infos = {
            SELLER: {**seller_info, "to_act": True},
            CUSTOMER: self._customer_info(scenario, to_act=False, must_decide=False),
        }
        return dict(self._observations), self._copy_infos()

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, Utterance],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """One utterance by the agent whose turn it is; the other agent's action is ignored.

        Raises:
            gymnasium.error.ResetNeeded: If the episode is over or never started.
            TypeError: If `actions` is not a dict, or the acting agent's action is not a str
                (the customer's may also be None: the simulator then speaks).
            ValueError: If `actions` names an unknown agent, or lacks the seller's action on
                the seller's turn.
        """
        if not self.agents:
            raise gym.error.ResetNeeded(
                "the conversation is over (or never started): call reset() first"
            )
        if not isinstance(actions, Mapping):
            raise TypeError(
                f"actions must be a dict keyed by agent ({list(AGENTS)}), got {type(actions).__name__}"
            )
        unknown = sorted(str(a) for a in set(actions) - set(AGENTS))
        if unknown:
            raise ValueError(f"unknown agents {unknown} in actions; the agents are {list(AGENTS)}")
        if self._to_act == SELLER:
            return self._seller_step(actions)
        return self._customer_step(actions.get(CUSTOMER))

    def render(self) -> str | None:
        """The transcript ("ansi"), or prints it ("human")."""
        return self._env.render()

    def close(self) -> None:
        """Releases the customer backend's state for the current conversation."""
        self._env.close()

    # -- the two kinds of step ---------------------------------------------------------------

    def _seller_step(self, actions: Mapping[str, Any]):
        if SELLER not in actions:
            raise ValueError(
                "it is the seller's turn: actions must hold the seller's utterance under "
                f"{SELLER!r} (see infos[agent]['to_act'])"
            )
        action = actions[SELLER]
        if not isinstance(action, str):
            raise TypeError(
                f"the seller's action must be its utterance as a str, got {type(action).__name__}"
            )
        request = self._env.begin_step(action)
        self._request = request
        self._round += 1
        self._turns = request.turns
        self._to_act = CUSTOMER
        said = request.turns[-1].text
        self._observations[CUSTOMER] = Utterance(said)
        seller_info = dict(self._seller_info)
        seller_info.update(
            round=self._round,
            messages=[*self._seller_info["messages"], {"role": "assistant", "content": said}],
            action_truncated=len(action) > self.max_action_chars,
            action_empty=not said.strip(),
            to_act=False,
        )
        self._infos = {
            SELLER: seller_info,
            CUSTOMER: self._customer_info(
                request.scenario, to_act=True, must_decide=request.must_decide
            ),
        }
        return self._result(0.0, 0.0, False, False)

    def _customer_step(self, action: Any):
        request = self._request
        flags: dict[str, int] = {}
        if self.simulate_customer or action is None:
            reply = self._env.customer.respond([request])[0]
            flags["simulated"] = 1
        elif isinstance(action, str):
            text, flags[THINKING_FLAG] = strip_thinking(action)
            text, decision = parse_decision(text)
            flags["action_truncated"] = int(len(text) > self.max_action_chars)
            text = text[: self.max_action_chars]
            reply = CustomerReply(
                text=text,
                decision=decision,
                flags={
                    "role_inversion": int(is_role_inversion(text)),
                    "wrong_language": int(not in_language(text, request.scenario.language)),
                },
            )
        else:
            raise TypeError(
                "the customer's action must be its utterance as a str (end with "
                f"{DECISION_TAG_FORMAT} to decide), or None to let the simulator speak; "
                f"got {type(action).__name__}"
            )
        observation, seller_reward, terminated, truncated, seller_info = self._env.finish_step(
            reply
        )
        self._seller_info = seller_info
        self._turns = (*request.turns, Turn("customer", observation))
        self._observations[SELLER] = Utterance(observation)
        self._to_act = SELLER
        done = terminated or truncated
        customer_info = self._customer_info(request.scenario, to_act=False, must_decide=False)
        customer_info["action_flags"] = flags
        customer_reward = 0.0
        if done:
            self._dialogue = Dialogue(request.scenario, self._turns, reply.decision)
            result = self.fidelity.score(self._dialogue, request.seed)
            customer_reward = result.reward
            customer_info.update(decision=seller_info["decision"], fidelity=result.as_dict())
        self._infos = {SELLER: {**seller_info, "to_act": not done}, CUSTOMER: customer_info}
        output = self._result(float(seller_reward), customer_reward, terminated, truncated)
        if done:
            self.agents = []
            self._request = None
        return output

    # -- helpers -----------------------------------------------------------------------------

    def _result(
        self, seller_reward: float, customer_reward: float, terminated: bool, truncated: bool
    ):
        return (
            dict(self._observations),
            {SELLER: seller_reward, CUSTOMER: customer_reward},
            dict.fromkeys(AGENTS, terminated),
            dict.fromkeys(AGENTS, truncated),
            self._copy_infos(),
        )

    def _customer_info(self, scenario: Scenario, to_act: bool, must_decide: bool) -> dict[str, Any]:
        view = CustomerRequest(
            conversation_id="",
            scenario=scenario,
            turns=self._turns,
            seed=0,
            must_decide=must_decide,
        )
        messages = customer_messages(view)
        return {
            "scenario_id": scenario.id,
            "language": scenario.language,
            "difficulty": scenario.difficulty,
            "round": self._round,
            "max_rounds": self.max_rounds,
            "to_act": to_act,
            "must_decide": must_decide,
            "system_prompt": messages[0]["content"],
            "messages": messages,
        }

    def _copy_infos(self) -> dict[str, dict[str, Any]]:
        return {agent: dict(info) for agent, info in self._infos.items()}

    def _check_agent(self, agent: str) -> str:
        if agent not in AGENTS:
            raise ValueError(f"unknown agent {agent!r}; the agents are {list(AGENTS)}")
        return agent


def parallel_env(**kwargs: Any) -> SalesParallelEnv:
    """The two-agent sales env, Parallel API (arguments: those of `SalesParallelEnv`)."""
    return SalesParallelEnv(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The two-agent sales env, AEC API: `parallel_env(**kwargs)` through PettingZoo's
    `parallel_to_aec` converter. Each cycle asks the seller, then the customer; the
    off-turn agent's action is ignored (see `infos[agent]["to_act"]`)."""
    return parallel_to_aec(parallel_env(**kwargs))


def __getattr__(name: str) -> Any:
    # The policy is an agent (a layer above this env): imported on first use, not here.
    if name == "PersonaCustomerPolicy":
        from salesenv.agents.customer_policy import PersonaCustomerPolicy

        return PersonaCustomerPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
