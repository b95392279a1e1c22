"""`SalesEnv`: one sales conversation per episode, the customer simulator as its dynamics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, ClassVar

import gymnasium as gym

from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.persona import PersonaCustomer
from salesenv.customers.thinking import strip_thinking
from salesenv.customers.turn_checks import copy_index
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.protocol import Protocol, get_protocol, warn_if_unlike
from salesenv.rewards import EpisodeScorer
from salesenv.rewards.shaping import PotentialShaping
from salesenv.scenarios.prompts import PROMPT_STYLES, compact_salesperson_prompt
from salesenv.scenarios.sampler import ScenarioSampler
from salesenv.scenarios.scenario import Scenario
from salesenv.spaces import UnicodeText

#: Salesperson turns of the default protocol (the paper's 20).
MAX_ROUNDS = get_protocol("salesenv").max_rounds
MAX_ACTION_CHARS = 2000
MAX_OBSERVATION_CHARS = 4000

StepResult = tuple[str, float, bool, bool, dict[str, Any]]


class SalesEnv(gym.Env[str, str]):
    """A sales conversation: the agent is the salesperson, the customer simulator answers.

    `reset()` samples a scenario (or takes `options={"scenario": Scenario}` or
    `options={"scenario_index": i}` when built with `scenarios`) and returns the customer's
    opening line. `step(utterance)` returns the customer's reply. The reward is 0 until the
    end; then it is the blended score on the 0-10 scale, with every part in `info["score"]`.
    The episode terminates when the customer decides and is truncated after `max_rounds`
    salesperson turns (the customer is then asked for its final decision), or after a turn
    stepped with `last_turn=True` (for callers with limits of their own, such as a token
    budget). That is the default protocol; `protocol="salesllm-official"` plays by the
    public SalesLLM runner's rules instead (`salesenv.protocol`, docs/protocols.md): 10
    salesperson turns, no announced last turn, the end when a customer reply matches its
    goodbye/refusal pattern, a language line after both system prompts.

    The info of `reset` also carries `info["product"]`, the salesperson's product sheet as
    a dict (None for scenarios loaded from prompts only).

    `info["messages"]` is the chat from the salesperson's side as OpenAI-style messages:
    the salesperson's system prompt, then the customer as "user" and the salesperson as
    "assistant", ready for `tokenizer.apply_chat_template`. Nothing from the customer's
    private script reaches the observation or the info, except what the customer chooses to
    say; the difficulty appears in the info only once the episode is over.

    Subclassing: variants (`LongHorizonSalesEnv`, `PortfolioSalesEnv`) override or call
    these hooks and leave the rest of the state to this class:

    - `_choose_scenario(options)`: the scenario of a new episode.
    - `_start_session(scenario, earlier_sessions)`: opens a conversation on a scenario
      (`reset` calls it; a variant may call it again to open a follow-up session).
    - `_get_info()`: the info of every reset and step; `_step_info(reply)` adds the
      step's flags.
    - `_shaping_reward(info, ended)`: the shaping term of a step (0 without shaping).
    - `_scored_dialogue(decision)`: what the scorer sees at the end.
    - `dialogue()`, `scenario`, `round`, `earlier_sessions`: the current state, read-only.

    Args:
        language: "zh" or "en".
        difficulty: A difficulty id, or "mixed" for the benchmark's mix.
        customer: The customer backend (default: the embedded persona simulator).
        scorer: Scores the finished dialogue (default: decision intent + rubric judge,
            blended with the protocol's profile: "paper", alpha 0.5; official: 0.6).
            Anything with `score_batch(dialogues)` returning scores with `final` and
            `as_dict()`.
        scenarios: A fixed list to draw scenarios from instead of the sampler.
        max_rounds: Salesperson turns before truncation (None: the protocol's, 20 in the
            paper, 10 under the official runner's count of 20 utterances).
        max_action_chars: Longer actions are truncated and flagged in info.
        render_mode: "ansi" (render returns the transcript) or "human" (prints it).
        shaping: Optional potential-based dense shaping added to every step's reward
            (`info["shaping"]`); it leaves the optimal policy and the final score unchanged.
        protocol: "salesenv" (default) or "salesllm-official" (a name or a `Protocol`).
        split: None, "train" or "test": sample only the products and persona occupations of
            that side of the seeded split (`salesenv.scenarios.sampler.held_out`), so that a
            trained policy can be evaluated on products it never saw.
        prompt_style: "full" (default, the benchmark's) or "compact": a short salesperson
            prompt (`salesenv.scenarios.prompts.compact_salesperson_prompt`), a training
            aid for small policies. Only the policy's system prompt changes: the customer,
            the judge and the score read the scenario, so episodes are scored as usual.
            It needs scenarios with a product sheet.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "ansi"], "render_fps": 1}

    def __init__(
        self,
        language: str = "zh",
        difficulty: str = "hard",
        customer: CustomerLM | None = None,
        scorer: EpisodeScorer | None = None,
        scenarios: Sequence[Scenario] | None = None,
        max_rounds: int | None = None,
        max_action_chars: int = MAX_ACTION_CHARS,
        render_mode: str | None = None,
        shaping: PotentialShaping | None = None,
        protocol: str | Protocol = "salesenv",
        split: str | None = None,
        prompt_style: str = "full",
    ) -> None:
        if prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {prompt_style!r}")
        self.prompt_style = prompt_style
        self.protocol = get_protocol(protocol)
        max_rounds = self.protocol.max_rounds if max_rounds is None else max_rounds
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.sampler = ScenarioSampler(language, difficulty, split=split)
        self.scenarios = tuple(scenarios) if scenarios is not None else None
        if self.scenarios is not None and not self.scenarios:
            raise ValueError("scenarios is empty; pass None to sample scenarios instead")
        self.customer = customer or PersonaCustomer()
        self.scorer = scorer or EpisodeScorer(profile=self.protocol.scoring_profile)
        warn_if_unlike(self.protocol, self.scorer, max_rounds)
        self.max_rounds = max_rounds
        self.max_action_chars = max_action_chars
        self.render_mode = render_mode
        self.shaping = shaping
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.action_space = UnicodeText(max_action_chars)
        self._instance = uuid.uuid4().hex[:12]
        self._episode = 0
        self._scenario: Scenario | None = None
        self._earlier: tuple[Dialogue, ...] = ()
        self._turns: list[Turn] = []
        self._messages: list[dict[str, str]] = []
        self._round = 0
        self._last_turn = False
        self._done = True

    @property
    def scenario(self) -> Scenario | None:
        """The current session's scenario (holds both private scripts: not for agents)."""
        return self._scenario

    @property
    def round(self) -> int:
        """Salesperson turns so far in the current session."""
        return self._round

    @property
    def earlier_sessions(self) -> tuple[Dialogue, ...]:
        """The episode's finished sessions before the current one (see `_start_session`)."""
        return self._earlier

    def dialogue(self, decision: Decision | None = None) -> Dialogue:
        """The current session's conversation so far (with `decision`, if given)."""
        return Dialogue(self._scenario, tuple(self._turns), decision)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._release()  # the customer forgets the previous episode
        scenario = self._choose_scenario(options or {})
        self._episode += 1
        self._conversation_id = f"{self._instance}:{self._episode}"
        self._episode_seed = int(self.np_random.integers(2**31 - 1))
        self._done = False
        trigger = self._start_session(scenario)
        if self.shaping is not None:
            self._potential = self.shaping.potential(self.dialogue())
        info = self._get_info()
        info["product"] = asdict(scenario.product) if scenario.product else None
        return trigger, info

    def step(self, action: str, *, last_turn: bool = False) -> StepResult:
        """Says `action` to the customer and returns its reply (see `begin_step`)."""
        request = self.begin_step(action, last_turn=last_turn)
        return self.finish_step(self.customer.respond([request])[0])

    def begin_step(self, action: str, *, last_turn: bool = False) -> CustomerRequest:
        """The first half of `step`: records the salesperson's turn and returns the request
        for the customer. Vector envs call it on many envs, answer all requests with one
        batched `customer.respond` call, then call `finish_step` on each.

        Args:
            action: The salesperson's utterance.
            last_turn: Make this the episode's last salesperson turn: the customer must
                decide, and the episode ends (truncated) and is scored after its reply,
                whatever `max_rounds` says.
        """
        if self._done:
            raise gym.error.ResetNeeded(
                "the episode is over (or never started): call reset() first"
            )
        if not isinstance(action, str):
            raise TypeError(
                f"SalesEnv actions are the salesperson's utterance as a str, got {type(action).__name__}"
            )
        # A reasoning policy's <think> block is its private scratchpad, not something said.
        action, self._action_thinking = strip_thinking(action)
        self._action_truncated = len(action) > self.max_action_chars
        action = action[: self.max_action_chars]
        self._action_empty = not action.strip()
        # Pasting the hidden product information breaks the salesperson's rules.
        self._action_copied_span = copy_index(self._scenario).longest_span(action)
        self._round += 1
        self._last_turn = last_turn or self._round >= self.max_rounds
        self._turns.append(Turn("salesperson", action))
        self._messages.append({"role": "assistant", "content": action})
        return CustomerRequest(
            conversation_id=self._conversation_id,
            scenario=self._scenario,
            turns=tuple(self._turns),
            seed=self._episode_seed,
            must_decide=self._last_turn and self.protocol.announces_last_turn,
            earlier_sessions=self._earlier,
            protocol=self.protocol.name,
        )

    def finish_step(self, reply: CustomerReply) -> StepResult:
        """The second half of `step`: takes the customer's reply and returns the step tuple."""
        observation = reply.text[:MAX_OBSERVATION_CHARS]
        self._turns.append(Turn("customer", observation))
        self._messages.append({"role": "user", "content": observation})
        truncated = self._last_turn
        by_rule = self.protocol.ends(observation)
        decided = reply.decision is not None and self.protocol.decisions_end
        terminated = (by_rule or decided) and not truncated
        info = self._step_info(reply)
        if by_rule:
            info["customer_flags"]["end_rule"] = 1
        reward = 0.0
        if terminated or truncated:
            self._done = True
            score = self.scorer.score_batch([self._scored_dialogue(reply.decision)])[0]
            reward = score.final
            info["decision"] = reply.decision.value if reply.decision else None
            info["difficulty"] = self._scenario.difficulty
            info["score"] = score.as_dict()
            self.customer.release(self._conversation_id)
        reward += self._shaping_reward(info, ended=self._done)
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
        self._release()

    def _release(self) -> None:
        if self._scenario is not None:
            self.customer.release(self._conversation_id)

    # --- hooks for variants (see the class docstring) ------------------------------------

    def _choose_scenario(self, options: dict[str, Any]) -> Scenario:
        """The scenario of a new episode, from `reset`'s options or drawn with `np_random`."""
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

    def _start_session(self, scenario: Scenario, earlier_sessions: Sequence[Dialogue] = ()) -> str:
        """Opens a conversation on `scenario` and returns the customer's opening line.

        The turns start with the opening line, `info["messages"]` afresh with the
        scenario's salesperson prompt, and the round count at 0. A follow-up session of the
        same episode passes the episode's finished sessions as `earlier_sessions`: the
        customer gets them with every request, and its state of the last session (same
        conversation id and seed) is released.
        """
        if earlier_sessions:
            self.customer.release(self._conversation_id)
        self._scenario = scenario
        self._earlier = tuple(earlier_sessions)
        self._round = 0
        trigger = scenario.trigger
        self._turns = [Turn("customer", trigger)]
        self._messages = [
            {"role": "system", "content": self._system_prompt()},
            {"role": "user", "content": trigger},
        ]
        return trigger

    def _get_info(self) -> dict[str, Any]:
        """The info of every reset and step (variants add their keys)."""
        scenario = self._scenario
        return {
            "scenario_id": scenario.id,
            "language": scenario.language,
            "round": self._round,
            "max_rounds": self.max_rounds,
            "protocol": self.protocol.name,
            "system_prompt": self._system_prompt(),
            "messages": [dict(m) for m in self._messages],
        }

    def _system_prompt(self) -> str:
        """The salesperson's system prompt: the scenario's (or the compact one), with the
        protocol's language line."""
        scenario = self._scenario
        prompt = scenario.salesperson_prompt
        if self.prompt_style == "compact":
            if scenario.product is None:
                raise ValueError(
                    f"prompt_style='compact' needs a product sheet, and scenario {scenario.id} "
                    "was loaded from prompts only: use prompt_style='full' for it"
                )
            prompt = compact_salesperson_prompt(scenario.language, scenario.product)
        return self.protocol.with_language_line(prompt, scenario.language)

    def _step_info(self, reply: CustomerReply) -> dict[str, Any]:
        """`_get_info()` plus the flags of the step that `reply` answers."""
        info = self._get_info()
        info.update(
            action_truncated=self._action_truncated,
            action_empty=self._action_empty,
            action_thinking_stripped=self._action_thinking,
            action_copied_span=self._action_copied_span,
            action_copied=self._action_copied_span >= copy_index(self._scenario).threshold,
            customer_flags=dict(reply.flags),
        )
        return info

    def _shaping_reward(self, info: dict[str, Any], ended: bool) -> float:
        """The shaping term of a step to the current state (Φ = 0 once `ended`), also
        written to `info["shaping"]`; 0 without shaping."""
        if self.shaping is None:
            return 0.0
        after = None if ended else self.shaping.potential(self.dialogue())
        info["shaping"] = self.shaping.reward(self._potential, after)
        self._potential = after or 0.0
        return info["shaping"]

    def _scored_dialogue(self, decision: Decision | None) -> Dialogue:
        """What the scorer sees at the end of the episode (variants override it)."""
        return self.dialogue(decision)

    @staticmethod
    def _format_turn(turn: Turn) -> str:
        return f"[{turn.role}] {turn.text}"
