"""Clients of `salesenv serve`: the typed OpenEnv client and a Gymnasium-style adapter.

Async, with the OpenEnv client API:

    async with SalesEnvClient("http://127.0.0.1:8000", token=None) as env:
        result = await env.reset(seed=0)
        print(result.observation.text, result.observation.info["product"]["name"])
        result = await env.step(SalesAction(utterance="Hello! What brings you in today?"))

Sync, the way salesenv agents and loops play (`reset` -> (text, info), `step` -> the
Gymnasium 5-tuple):

    from salesenv.agents import ScriptedSalesAgent

    with RemoteSalesEnv("http://127.0.0.1:8000") as env:
        text, info = env.reset(seed=0)
        agent = ScriptedSalesAgent()
        agent.reset(info, seed=0)
        done = False
        while not done:
            text, reward, terminated, truncated, info = env.step(agent.act(text, info))
            done = terminated or truncated
        print(reward, info["score"]["final"])

Server errors raise `SalesServerError` with the server's `code` (`ErrorCode`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from salesenv.remote.models import ErrorCode, SalesAction, SalesObservation, SalesState


class SalesServerError(RuntimeError):
    """The server answered with an error.

    Attributes:
        code: The error code (an `ErrorCode` value such as "EPISODE_OVER", "TIMEOUT";
            "CONNECTION_CLOSED" when the connection closed without one).
        message: What went wrong and what to do.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


#: How long a client waits for the error message of a connection the server closed.
_PENDING_ERROR_WAIT_S = 2.0


class SalesEnvClient(EnvClient[SalesAction, SalesObservation, SalesState]):
    """Async OpenEnv client of a `salesenv serve` server; `.sync()` gives a sync one.

    Each client is one session on the server (its own conversation). `reset(seed=...,
    scenario_index=...)` starts an episode, `step(SalesAction(utterance=...))` (or a plain
    str) plays a turn; both return a `StepResult` whose `observation` is a
    `SalesObservation` (text, info, terminated, truncated) and `reward`, `done`.

    Example:
        client = SalesEnvClient("http://127.0.0.1:8000", token=os.environ.get("TOKEN")).sync()
        with client:
            result = client.reset(seed=3)
            result = client.step("Hello! What are you looking for?")

    Args:
        base_url: The server's URL (http://, https://, ws:// or wss://).
        token: The server's shared secret, sent as `Authorization: Bearer` on the handshake.
        message_timeout_s: How long to wait for an answer (keep it above the server's
            step timeout).
        **kwargs: More `EnvClient` arguments (connect_timeout_s, max_message_size_mb).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        message_timeout_s: float = 180.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, message_timeout_s=message_timeout_s, **kwargs)
        self._token = token
        self.session_id: str | None = None

    async def connect(self) -> SalesEnvClient:
        """Opens the WebSocket (with the token).

        Raises:
            SalesServerError: UNAUTHORIZED if the server refused the token.
            ConnectionError: If the server cannot be reached.
        """
        if self._ws is not None:
            return self
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        try:
            self._ws = await ws_connect(
                self._ws_url,
                open_timeout=self._connect_timeout,
                max_size=self._max_message_size,
                additional_headers=headers,
                proxy=None,
            )
        except InvalidStatus as exc:
            if exc.response.status_code == 401:
                raise SalesServerError(
                    ErrorCode.UNAUTHORIZED.value,
                    "the server refused the connection: it needs its token (token=...)"
                    if not self._token
                    else "the server refused the connection: wrong token",
                ) from None
            raise ConnectionError(f"Failed to connect to {self._ws_url}: {exc}") from exc
        except OSError as exc:
            raise ConnectionError(f"Failed to connect to {self._ws_url}: {exc}") from exc
        return self

    async def reset(self, **kwargs: Any) -> StepResult[SalesObservation]:
        """Starts an episode: `reset(seed=0)`, or `reset(seed=0, scenario_index=3)` on a
        server with a suite."""
        result = await super().reset(**kwargs)
        self.session_id = result.observation.metadata.get("session_id", self.session_id)
        return result

    async def step(self, action: SalesAction | str, **kwargs: Any) -> StepResult[SalesObservation]:
        """Plays one salesperson turn (a `SalesAction` or the utterance as a str; the
        server checks its length against its own max_action_chars)."""
        return await super().step(action, **kwargs)

    def _step_payload(self, action: SalesAction | str) -> dict[str, Any]:
        return {"utterance": action if isinstance(action, str) else action.utterance}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[SalesObservation]:
        observation = SalesObservation(
            **payload.get("observation", {}),
            reward=payload.get("reward"),
            done=payload.get("done", False),
        )
        return StepResult(observation=observation, reward=observation.reward, done=observation.done)

    def _parse_state(self, payload: dict[str, Any]) -> SalesState:
        return SalesState(**payload)

    async def _send_and_receive(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            await self._send(message)
            response = await self._receive()
        except ConnectionClosed as exc:
            raise await self._closed_error(exc) from None
        if response.get("type") == "error":
            data = response.get("data", {})
            raise SalesServerError(
                str(data.get("code", "UNKNOWN")), str(data.get("message", "unknown error"))
            )
        return response

    async def _closed_error(self, closed: ConnectionClosed) -> SalesServerError:
        """The error the server sent before closing (capacity, expiry), if it is waiting."""
        ws = self._ws
        self._ws = None
        if ws is not None:
            try:
                raw = await asyncio.wait_for(ws.recv(), _PENDING_ERROR_WAIT_S)
                data = json.loads(raw)
                if data.get("type") == "error":
                    error = data.get("data", {})
                    return SalesServerError(str(error.get("code")), str(error.get("message")))
            except (ConnectionClosed, TimeoutError, ValueError):
                pass
        reason = closed.rcvd.reason if closed.rcvd is not None else ""
        code = reason if reason in ErrorCode.__members__ else "CONNECTION_CLOSED"
        return SalesServerError(code, f"the server closed the connection ({closed})")


class RemoteSalesEnv:
    """A Gymnasium-style adapter over the sync client: plays like `salesenv.make(...)`.

    `reset(seed=, options={"scenario_index": i})` -> (text, info);
    `step(utterance)` -> (text, reward, terminated, truncated, info). The info is the
    server's JSON copy of `SalesEnv`'s (tuples become lists).

    Example:
        with RemoteSalesEnv("http://127.0.0.1:8000") as env:
            text, info = env.reset(seed=0)
            text, reward, terminated, truncated, info = env.step("Hello!")

    Args:
        base_url: The server's URL.
        token: The server's shared secret, if it has one.
        **kwargs: More `SalesEnvClient` arguments.
    """

    def __init__(self, base_url: str, token: str | None = None, **kwargs: Any) -> None:
        self.client = SalesEnvClient(base_url, token=token, **kwargs).sync()
        self._connected = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Starts an episode; `options` may hold only "scenario_index".

        Raises:
            ValueError: If `options` holds anything else.
        """
        options = dict(options or {})
        unknown = set(options) - {"scenario_index"}
        if unknown:
            raise ValueError(
                f"RemoteSalesEnv.reset takes only options['scenario_index'], got {sorted(unknown)}"
            )
        kwargs = {} if seed is None else {"seed": seed}
        if options.get("scenario_index") is not None:
            kwargs["scenario_index"] = options["scenario_index"]
        self._connect()
        observation = self.client.reset(**kwargs).observation
        return observation.text, observation.info

    def step(self, utterance: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Says `utterance` to the customer."""
        self._connect()
        observation = self.client.step(utterance).observation
        return (
            observation.text,
            float(observation.reward or 0.0),
            observation.terminated,
            observation.truncated,
            observation.info,
        )

    def state(self) -> SalesState:
        """The session's progress (episode id, steps, round, done)."""
        self._connect()
        return self.client.state()

    @property
    def session_id(self) -> str | None:
        """This connection's session id (for logging), known after the first reset."""
        return self.client.async_client.session_id

    def close(self) -> None:
        """Closes the connection (the server ends the session)."""
        self.client.close()
        self._connected = False

    def _connect(self) -> None:
        if not self._connected:
            self.client.connect()
            self._connected = True

    def __enter__(self) -> RemoteSalesEnv:
        self._connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
