"""The wire types of `salesenv serve`: action, observation, state, reset data, error codes.

They extend openenv-core's `Action`, `Observation` and `State`, so OpenEnv clients
(`GenericEnvClient`, `SalesEnvClient`) read them; importing this module imports
openenv-core (several seconds: it imports gradio).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

#: Characters of an utterance the server accepts by default (`--max-action-chars`); the
#: env itself still truncates at its own limit (2000) and flags it in the info.
DEFAULT_MAX_ACTION_CHARS = 8000
#: The largest seed a reset accepts.
MAX_SEED = 2**63 - 1


class ErrorCode(StrEnum):
    """The `code` of an error response: `{"type": "error", "data": {"code", "message"}}`.

    The first three are openenv-core's own (`WSErrorCode`), with the same meaning.
    """

    INVALID_JSON = "INVALID_JSON"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    NO_EPISODE = "NO_EPISODE"
    EPISODE_OVER = "EPISODE_OVER"
    TIMEOUT = "TIMEOUT"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    CAPACITY_REACHED = "CAPACITY_REACHED"
    FORBIDDEN = "FORBIDDEN"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    FACTORY_ERROR = "FACTORY_ERROR"
    UNAUTHORIZED = "UNAUTHORIZED"


class SalesAction(Action):
    """The salesperson's turn.

    Attributes:
        utterance: What the salesperson says (a str; at most the server's
            `max_action_chars`, default 8000, passed as validation context).
    """

    utterance: StrictStr = Field(description="What the salesperson says.")

    @field_validator("utterance")
    @classmethod
    def _bounded(cls, value: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_action_chars", DEFAULT_MAX_ACTION_CHARS)
        if len(value) > limit:
            raise ValueError(
                f"utterance has {len(value)} characters; this server accepts at most {limit} "
                "(max_action_chars): send a shorter turn"
            )
        return value


class SalesObservation(Observation):
    """What the salesperson sees after a reset or a step, exactly as `SalesEnv` gives it.

    Attributes:
        text: The customer's line (the opening line after a reset).
        info: The env's info dict (JSON-safe): `info["product"]` on reset, and at the end
            `info["score"]`, `info["decision"]`, `info["difficulty"]`.
        terminated: The customer decided (or the protocol's end rule matched).
        truncated: The salesperson's turns ran out.
        done: terminated or truncated. reward: the step's reward (None after a reset).
        metadata: After a reset, {"session_id": ...}: this connection's own session id,
            for logging only.
    """

    text: str = Field(default="", description="The customer's line.")
    info: dict[str, Any] = Field(default_factory=dict, description="The env's info dict.")
    terminated: bool = Field(default=False, description="The customer decided.")
    truncated: bool = Field(default=False, description="The salesperson's turns ran out.")


class SalesState(State):
    """A session's progress; nothing of the scenario.

    Attributes:
        env_id: The env id the server plays.
        round: Salesperson turns so far in the current episode.
        done: Whether the episode is over (or none was started).
    """

    env_id: str = Field(default="", description="The env id the server plays.")
    round: int = Field(default=0, ge=0, description="Salesperson turns so far.")
    done: bool = Field(default=True, description="The episode is over or not started.")


class SalesResetData(BaseModel):
    """What a reset accepts: a seed, and a scenario's index when the server has a suite."""

    model_config = ConfigDict(extra="forbid")

    seed: StrictInt | None = Field(default=None, ge=0, le=MAX_SEED)
    scenario_index: StrictInt | None = Field(default=None, ge=0)
