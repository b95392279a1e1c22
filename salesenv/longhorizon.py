"""`LongHorizonSalesEnv`: follow-up sessions after a clear no, scored over the whole history."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from salesenv.customers.base import CustomerReply, CustomerRequest
from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.env import MAX_OBSERVATION_CHARS, SalesEnv, StepResult
from salesenv.scenarios.followup import followup_scenario, session_marker
from salesenv.scenarios.scenario import Scenario

MAX_FOLLOWUPS = 2


class LongHorizonSalesEnv(SalesEnv):
    """A customer who said no gets up to `max_followups` more sessions.

    When to follow up. A session that ends in a clear no (decision "no", intent level C)
    opens the next session, as long as fewer than `max_followups` follow-ups have happened;
    any other ending (buy, maybe, brush-off, hostile, or no decision from an LLM backend)
    ends the episode, and so does the end of the last session whatever its decision. So an
    episode has one to three sessions, and a clear no is the only way to get another one.
    DESIGN's "stop early on a clear no" is read as: the clear no stops the *session* early
    (it does not run to the round limit) and opens the next; the episode stops early, before
    the last session, as soon as the customer ends a session any other way. The other
    reading - a second clear no ends the episode, a "maybe" in a follow-up earns another one -
    would treat the same decision differently in session 1 and session 2. A session that
    reaches its round limit counts like any other: the customer is asked for its decision,
    and a clear no opens the next session. `followup_on` changes which decisions do.

    Each session has its own `max_rounds`. At a boundary (the step whose customer reply is
    the clear no) the observation is the customer's opening line of the next session, the
    reward is 0 (plus shaping, if any), neither flag is set, and the info has
    `session_ended=True`, `session_decision` (the closed session's decision) and
    `closing_reply` (the customer's last words in it, which the agent would otherwise see
    only in the history). Every session's scenario is the first one with both system
    prompts extended by an EARLIER SESSIONS section holding every earlier session's
    transcript and how it ended (`salesenv.scenarios.followup`); `info["messages"]` starts
    afresh with that salesperson prompt, so an LLM salesperson gets the history as its
    system prompt, and LLM customers get theirs from the customer prompt. The persona
    customer also gets the earlier sessions in `CustomerRequest.earlier_sessions` and
    replays them to remember (see `salesenv.customers.persona`).

    The score covers the whole history: at the end the scorer gets every session's turns in
    order, the first turn of each session prefixed with a session marker ("[Session 2] ",
    "【第2次沟通】") when there was more than one, the first session's scenario (its product
    information, not the later prompts that quote the history) and the last decision. An
    episode that ends in its first session scores exactly like `SalesEnv`. The final info
    adds `sessions`, `session_decisions`, `rounds_total` and `transcript` (every turn with
    its session number); `info["score"]` adds `sessions` and `session_decisions`. Every
    info has `session` (1-based) and `sessions_max`.

    A turn stepped with `last_turn=True` ends the episode whatever the decision: no
    follow-up session opens after it.

    Args:
        *args: Passed to `SalesEnv`.
        max_followups: Follow-up sessions at most (2 in DESIGN).
        followup_on: Decisions that open a follow-up (default: a clear no).
        **kwargs: Passed to `SalesEnv`.
    """

    def __init__(
        self,
        *args: Any,
        max_followups: int = MAX_FOLLOWUPS,
        followup_on: Collection[str | Decision] = (Decision.NO,),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if max_followups < 0:
            raise ValueError(f"max_followups must be >= 0, got {max_followups}")
        try:
            self.followup_on = frozenset(Decision(d) for d in followup_on)
        except ValueError:
            names = [d.value for d in Decision]
            raise ValueError(
                f"followup_on must hold decisions {names}, got {followup_on!r}"
            ) from None
        self.max_followups = max_followups
        self.sessions_max = 1 + max_followups
        self._ending = False

    @property
    def sessions(self) -> tuple[Dialogue, ...]:
        """The finished sessions of the current episode, oldest first."""
        return self.earlier_sessions

    @property
    def session(self) -> int:
        """The current session's number (1-based)."""
        return len(self.earlier_sessions) + 1

    def begin_step(self, action: str, *, last_turn: bool = False) -> CustomerRequest:
        self._ending = last_turn
        return super().begin_step(action, last_turn=last_turn)

    def finish_step(self, reply: CustomerReply) -> StepResult:
        if (
            not self._ending
            and reply.decision in self.followup_on
            and self.session < self.sessions_max
        ):
            return self._next_session(reply)
        observation, reward, terminated, truncated, info = super().finish_step(reply)
        if terminated or truncated:
            decisions = [d.decision.value if d.decision else None for d in self.sessions]
            decisions.append(info["decision"])
            info.update(
                sessions=self.session,
                session_decisions=decisions,
                rounds_total=sum(_rounds(d.turns) for d in self.sessions) + self.round,
                transcript=self._transcript(),
            )
            info["score"].update(sessions=self.session, session_decisions=decisions)
        return observation, reward, terminated, truncated, info

    def render(self) -> str | None:
        lines = [f"[{t['session']}:{t['role']}] {t['text']}" for t in self._transcript()]
        if self.render_mode == "ansi":
            return "\n".join(lines)
        if self.render_mode == "human":
            print("\n".join(lines))
        return None

    def _next_session(self, reply: CustomerReply) -> StepResult:
        """Closes the session with the customer's `reply` and opens the next one."""
        closing = reply.text[:MAX_OBSERVATION_CHARS]
        turns = (*self.dialogue().turns, Turn("customer", closing))
        closed = [*self.sessions, Dialogue(self.scenario, turns, reply.decision)]
        scenario = followup_scenario(
            self._first_scenario(), closed, self.sessions_max, self.np_random
        )
        trigger = self._start_session(scenario, closed)
        info = self._step_info(reply)
        info.update(
            session_ended=True,
            session_decision=reply.decision.value,
            closing_reply=closing,
        )
        reward = self._shaping_reward(info, ended=False)
        if self.render_mode == "human":
            print(f"[customer] {closing}\n--- session {self.session} ---\n[customer] {trigger}")
        return trigger, reward, False, False, info

    def _first_scenario(self) -> Scenario:
        """The first session's scenario: the product information every session is about."""
        return self.sessions[0].scenario if self.sessions else self.scenario

    def _all_sessions(self) -> list[tuple[Turn, ...]]:
        return [d.turns for d in self.sessions] + [self.dialogue().turns]

    def _scored_dialogue(self, decision: Decision | None) -> Dialogue:
        sessions = self._all_sessions()
        if len(sessions) == 1:
            return super()._scored_dialogue(decision)
        first = self._first_scenario()
        turns: list[Turn] = []
        for k, session in enumerate(sessions, start=1):
            head, *rest = session
            turns.append(Turn(head.role, session_marker(first.language, k) + head.text))
            turns.extend(rest)
        return Dialogue(first, tuple(turns), decision)

    def _transcript(self) -> list[dict[str, Any]]:
        return [
            {"session": k, "role": t.role, "text": t.text}
            for k, session in enumerate(self._all_sessions(), start=1)
            for t in session
        ]

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        info.update(session=self.session, sessions_max=self.sessions_max)
        return info


def _rounds(turns: tuple[Turn, ...]) -> int:
    return sum(t.role == "salesperson" for t in turns)
