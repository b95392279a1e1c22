"""`SalesEnv`: one sales conversation per episode, the customer simulator as its dynamics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, ClassVar

import gymnasium as gym

from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.persona import PersonaCustomer
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.rewards import EpisodeScorer
from salesenv.rewards.shaping import PotentialShaping
from salesenv.scenarios.sampler import ScenarioSampler
from salesenv.scenarios.scenario import Scenario
from salesenv.spaces import UnicodeText

MAX_ROUNDS = 20
MAX_ACTION_CHARS = 2000
MAX_OBSERVATION_CHARS = 4000


class SalesEnv(gym.Env[str, str]):
    """A sales conversation: the agent is the salesperson, the customer simulator answers.

    `reset()` samples a scenario (or takes `options={"scenario": Scenario}` or
    `options={"scenario_index": i}` when built with `scenarios`) and returns the customer's
    opening line. `step(utterance)` returns the customer's reply. The reward is 0 until the
    end; then it is the blended score on the 0-10 scale, with every part in `info["score"]`.
    The episode terminates when the customer decides and is truncated after `max_rounds`
    salesperson turns (the customer is then asked for its final decision).

    The info of `reset` also carries `info["product"]`, the salesperson's product sheet as
    a dict (None for scenarios loaded from prompts only).

    `info["messages"]` is the chat from the salesperson's side as OpenAI-style messages:
    the salesperson's system prompt, then the customer as "user" and the salesperson as
    "assistant", ready for `tokenizer.apply_chat_template`. Nothing from the customer's
    private script reaches the observation or the info, except what the customer chooses to
    say; the difficulty appears in the info only once the episode is over.

    Args:
        language: "zh" or "en".
        difficulty: A difficulty id, or "mixed" for the benchmark's mix.
        customer: The customer backend (default: the embedded persona simulator).
        scorer: Scores the finished dialogue (default: decision intent + rubric judge,
            the "paper" profile with alpha 0.5).
        scenarios: A fixed list to draw scenarios from instead of the sampler.
        max_rounds: Salesperson turns before truncation (20 in the paper).
        max_action_chars: Longer actions are truncated and flagged in info.
        render_mode: "ansi" (render returns the transcript) or "human" (prints it).
        shaping: Optional potential-based dense shaping added to every step's reward
            (`info["shaping"]`); it leaves the optimal policy and the final score unchanged.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "ansi"], "render_fps": 1}

    def __init__(
        self,
        language: str = "zh",
        difficulty: str = "hard",
        customer: CustomerLM | None = None,
        scorer: EpisodeScorer | None = None,
        scenarios: Sequence[Scenario] | None = None,
        max_rounds: int = MAX_ROUNDS,
        max_action_chars: int = MAX_ACTION_CHARS,
        render_mode: str | None = None,
        shaping: PotentialShaping | None = None,
    ) -> None:
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.sampler = ScenarioSampler(language, difficulty)
        self.scenarios = tuple(scenarios) if scenarios is not None else None
        if self.scenarios is not None and not self.scenarios:
            raise ValueError("scenarios is empty; pass None to sample scenarios instead")
        self.customer = customer or PersonaCustomer()
        self.scorer = scorer or EpisodeScorer()
        self.max_rounds = max_rounds
        self.max_action_chars = max_action_chars
        self.render_mode = render_mode
        self.shaping = shaping
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.action_space = UnicodeText(max_action_chars)
        self._instance = uuid.uuid4().hex[:12]
        self._episode = 0
        self._scenario: Scenario | None = None
        self._turns: list[Turn] = []
        self._messages: list[dict[str, str]] = []
        self._done = True

    @property
    def scenario(self) -> Scenario | None:
        """The current episode's scenario (holds both private scripts: not for agents)."""
        return self._scenario

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if self._scenario is not None:
            self.customer.release(self._conversation_id)
        self._scenario = self._choose_scenario(options)
        self._episode += 1
        self._conversation_id = f"{self._instance}:{self._episode}"
        self._episode_seed = int(self.np_random.integers(2**31 - 1))
        self._round = 0
        self._done = False
        trigger = self._scenario.trigger
        self._turns = [Turn("customer", trigger)]
        self._messages = [
            {"role": "system", "content": self._scenario.salesperson_prompt},
            {"role": "user", "content": trigger},
        ]
        if self.shaping is not None:
            self._potential = self.shaping.potential(Dialogue(self._scenario, tuple(self._turns)))
        info = self._info()
        scenario = self._scenario
        info["product"] = asdict(scenario.product) if scenario.product else None
        return trigger, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        request = self.begin_step(action)
        return self.finish_step(self.customer.respond([request])[0])

    def begin_step(self, action: str) -> CustomerRequest:
        """The first half of `step`: records the salesperson's turn and returns the request
        for the customer. Vector envs call it on many envs, answer all requests with one
        batched `customer.respond` call, then call `finish_step` on each."""
        if self._done:
            raise gym.error.ResetNeeded(
                "the episode is over (or never started): call reset() first"
            )
        if not isinstance(action, str):
            raise TypeError(
                f"SalesEnv actions are the salesperson's utterance as a str, got {type(action).__name__}"
            )
        self._action_truncated = len(action) > self.max_action_chars
        action = action[: self.max_action_chars]
        self._action_empty = not action.strip()
        self._round += 1
        self._turns.append(Turn("salesperson", action))
        self._messages.append({"role": "assistant", "content": action})
        return CustomerRequest(
            conversation_id=self._conversation_id,
            scenario=self._scenario,
            turns=tuple(self._turns),
            seed=self._episode_seed,
            must_decide=self._round >= self.max_rounds,
        )

    def finish_step(self, reply: CustomerReply) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """The second half of `step`: takes the customer's reply and returns the step tuple."""
        observation = reply.text[:MAX_OBSERVATION_CHARS]
        self._turns.append(Turn("customer", observation))
        self._messages.append({"role": "user", "content": observation})
        truncated = self._round >= self.max_rounds
        terminated = reply.decision is not None and not truncated
        info = self._info()
        info.update(
            action_truncated=self._action_truncated,
            action_empty=self._action_empty,
            customer_flags=dict(reply.flags),
        )
        reward = 0.0
        if terminated or truncated:
            self._done = True
            score = self.scorer.score_batch([self._scored_dialogue(reply.decision)])[0]
            reward = score.final
            info["decision"] = reply.decision.value if reply.decision else None
            info["difficulty"] = self._scenario.difficulty
            info["score"] = score.as_dict()
            self.customer.release(self._conversation_id)
        if self.shaping is not None:
            after = (
                None
                if self._done
                else self.shaping.potential(Dialogue(self._scenario, tuple(self._turns)))
            )
            info["shaping"] = self.shaping.reward(self._potential, after)
            reward += info["shaping"]
            self._potential = after or 0.0
        if self.render_mode == "human":
            print(self._format_turn(self._turns[-2]) + "\n" + self._format_turn(self._turns[-1]))
        return observation, reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return "\n".join(self._format_turn(t) for t in self._turns)
        if self.render_mode == "human":
            print("\n".join(self._format_turn(t) for t in self._turns))
        return None

    def close(self) -> None:
        if self._scenario is not None:
            self.customer.release(self._conversation_id)

    def _choose_scenario(self, options: dict[str, Any]) -> Scenario:
        if "scenario" in options:
            scenario = options["scenario"]
            if isinstance(scenario, dict):
                scenario = Scenario.from_dict(scenario)
            if not isinstance(scenario, Scenario):
                raise TypeError(
                    f"options['scenario'] must be a Scenario or its dict, got {type(scenario).__name__}"
                )
            return scenario
        if self.scenarios is not None:
            index = options.get("scenario_index")
            if index is None:
                index = int(self.np_random.integers(len(self.scenarios)))
            if not 0 <= index < len(self.scenarios):
                raise IndexError(
                    f"scenario_index {index} is out of range 0..{len(self.scenarios) - 1}"
                )
            return self.scenarios[index]
        return self.sampler.sample(self.np_random)

    def _scored_dialogue(self, decision: Decision | None) -> Dialogue:
        """What the scorer sees at the end of the episode (variants override it)."""
        return Dialogue(self._scenario, tuple(self._turns), decision)

    def _info(self) -> dict[str, Any]:
        scenario = self._scenario
        return {
            "scenario_id": scenario.id,
            "language": scenario.language,
            "round": self._round,
            "max_rounds": self.max_rounds,
            "system_prompt": scenario.salesperson_prompt,
            "messages": [dict(m) for m in self._messages],
        }

    @staticmethod
    def _format_turn(turn: Turn) -> str:
        return f"[{turn.role}] {turn.text}"
