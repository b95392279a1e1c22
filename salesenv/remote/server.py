"""The environment server of `salesenv serve`: one `SalesEnv` per WebSocket session.

`create_app` builds a FastAPI app on openenv-core's `HTTPEnvServer` (its session
bookkeeping and capacity, its `/health`, `/schema` and `/metadata` routes, production mode:
no stateless `/reset`, `/step`, `/state`; its `/mcp` routes removed) with salesenv's own
`/ws` endpoint. The endpoint speaks openenv's wire protocol (`WSResetMessage`,
`WSStepMessage`, `WSStateMessage`, `WSCloseMessage` in; `WSObservationResponse`,
`WSStateResponse`, `WSErrorResponse` out), so openenv's `GenericEnvClient` works against
it, and adds what a shared server needs: specific error codes (`ErrorCode`), a per-request
timeout, idle-session expiry, bounded message and action sizes, an optional shared-secret
token, and sessions that only their own connection can act on. `app_from_config` builds
the app from Hydra overrides as `salesenv eval` does; `run` serves it (blocking) and
`serve_in_thread` in a background thread (tests, benchmarks, examples).

    app = app_from_config("SalesLLM-en-hard", ["customer=persona"], ServeLimits(max_sessions=16))
    with serve_in_thread(app) as server:
        print(server.url)  # http://127.0.0.1:PORT; connect with SalesEnvClient(server.url)

docs/serving.md describes the protocol, the error codes, the limits and the security model.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from openenv.core.env_server.exceptions import EnvironmentFactoryError, SessionCapacityError
from openenv.core.env_server.http_server import HTTPEnvServer
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import (
    EnvironmentMetadata,
    ServerMode,
    WSCloseMessage,
    WSErrorResponse,
    WSObservationResponse,
    WSResetMessage,
    WSStateMessage,
    WSStateResponse,
    WSStepMessage,
)
from pydantic import ValidationError

import salesenv
from salesenv.customers.base import CustomerBackendError, CustomerLM
from salesenv.customers.batching import BatchingCustomer
from salesenv.remote.models import (
    DEFAULT_MAX_ACTION_CHARS,
    ErrorCode,
    SalesAction,
    SalesObservation,
    SalesResetData,
    SalesState,
)

logger = logging.getLogger(__name__)

#: WebSocket close codes: policy violation (bad token, a foreign session id), try again
#: later (capacity), going away (idle expiry), internal error (the env cannot be built).
CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL = 1011
#: A WebSocket message longer than `max_message_bytes` gets MESSAGE_TOO_LARGE and the
#: connection stays; one longer than this many times the limit closes the connection
#: (close code 1009) without being read in full.
TRANSPORT_SIZE_FACTOR = 4
MESSAGE_TYPES = ("reset", "step", "state", "close")


class RemoteEnvError(Exception):
    """A request a session cannot serve; `code` is an `ErrorCode`, the message says why."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ServeLimits:
    """The limits of a server (each is a `salesenv serve` option).

    Attributes:
        max_sessions: Sessions (WebSocket connections) at once; the next connection gets
            CAPACITY_REACHED and is closed (`--max-sessions`).
        idle_timeout_s: A session that sends nothing for this long gets SESSION_EXPIRED and
            is closed, freeing its slot (`--idle-timeout`).
        step_timeout_s: A reset or step that takes longer answers TIMEOUT; the session then
            needs a new reset (`--step-timeout`).
        max_message_bytes: The largest WebSocket message or HTTP body (`--max-message-bytes`).
        max_action_chars: The longest utterance (`--max-action-chars`).
        token: A shared secret every request must send as `Authorization: Bearer TOKEN`
            (None: no token; `--token-file` or SALESENV_SERVE_TOKEN).

    Raises:
        ValueError: If a limit is out of range; the message names the option.
    """

    max_sessions: int = 64
    idle_timeout_s: float = 600.0
    step_timeout_s: float = 120.0
    max_message_bytes: int = 65536
    max_action_chars: int = DEFAULT_MAX_ACTION_CHARS
    token: str | None = None

    def __post_init__(self) -> None:
        checks = (
            ("max_sessions", "--max-sessions", self.max_sessions >= 1, "at least 1"),
            ("idle_timeout_s", "--idle-timeout", self.idle_timeout_s > 0, "more than 0 s"),
            ("step_timeout_s", "--step-timeout", self.step_timeout_s > 0, "more than 0 s"),
            ("max_message_bytes", "--max-message-bytes", self.max_message_bytes >= 1024, ">= 1024"),
            ("max_action_chars", "--max-action-chars", self.max_action_chars >= 1, "at least 1"),
        )
        for name, option, ok, wanted in checks:
            if not ok:
                raise ValueError(f"{name} ({option}) must be {wanted}, got {getattr(self, name)}")
        if self.token is not None and not self.token.strip():
            raise ValueError("the token is empty: put a secret in the --token-file")

    def __repr__(self) -> str:  # never show the token
        shown = "set" if self.token else None
        return (
            f"ServeLimits(max_sessions={self.max_sessions}, idle_timeout_s={self.idle_timeout_s}, "
            f"step_timeout_s={self.step_timeout_s}, max_message_bytes={self.max_message_bytes}, "
            f"max_action_chars={self.max_action_chars}, token={shown})"
        )


class SalesEnvironment(Environment[SalesAction, SalesObservation, SalesState]):
    """One session's `SalesEnv` as an OpenEnv `Environment`.

    Every session gets its own env (its own conversation state); the customer backend and
    the scorer are shared through `make_env`. Observations carry exactly what `SalesEnv`
    gives an agent (the text, the info made JSON-safe, the reward, terminated/truncated).

    Args:
        make_env: Builds the session's `SalesEnv` (with the shared customer and scorer).
        env_id: The env id the server plays (reported in the state).
        scenario_count: How many scenarios the server's suite has (None: sampled).
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(
        self, make_env: Callable[[], Any], env_id: str, scenario_count: int | None = None
    ) -> None:
        super().__init__()
        self._env = make_env()
        self.env_id = env_id
        self.scenario_count = scenario_count
        self._episode_id: str | None = None
        self._steps = 0
        self._done = True

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        scenario_index: int | None = None,
        **kwargs: Any,
    ) -> SalesObservation:
        """Starts an episode (`SalesEnv.reset(seed=, options={"scenario_index": i})`).

        Raises:
            RemoteEnvError: VALIDATION_ERROR if `scenario_index` is given without a suite or
                is out of range.
        """
        options = {}
        if scenario_index is not None:
            if self.scenario_count is None:
                raise RemoteEnvError(
                    ErrorCode.VALIDATION_ERROR,
                    "scenario_index needs a server started with --suite; this one samples "
                    "scenarios: send only a seed",
                )
            if not 0 <= scenario_index < self.scenario_count:
                raise RemoteEnvError(
                    ErrorCode.VALIDATION_ERROR,
                    f"scenario_index {scenario_index} is out of range: the server's suite has "
                    f"scenarios 0..{self.scenario_count - 1}",
                )
            options["scenario_index"] = scenario_index
        self._done = True  # until the reset succeeds
        text, info = self._env.reset(seed=seed, options=options)
        self._episode_id = uuid.uuid4().hex
        self._steps = 0
        self._done = False
        return SalesObservation(text=text, info=json_safe(info), reward=None, done=False)

    def step(
        self, action: SalesAction, timeout_s: float | None = None, **kwargs: Any
    ) -> SalesObservation:
        """Says `action.utterance` to the customer (`SalesEnv.step`).

        Raises:
            RemoteEnvError: NO_EPISODE before the first reset, EPISODE_OVER after the end.
        """
        self.check_can_step()
        self._done = True  # a step that fails leaves the episode unusable
        text, reward, terminated, truncated, info = self._env.step(action.utterance)
        self._steps += 1
        self._done = bool(terminated or truncated)
        return SalesObservation(
            text=text,
            info=json_safe(info),
            reward=float(reward),
            done=self._done,
            terminated=bool(terminated),
            truncated=bool(truncated),
        )

    def check_can_step(self) -> None:
        """Raises RemoteEnvError (NO_EPISODE or EPISODE_OVER) unless an episode runs."""
        if self._episode_id is None:
            raise RemoteEnvError(
                ErrorCode.NO_EPISODE, "no episode has started in this session: send reset first"
            )
        if self._done:
            raise RemoteEnvError(
                ErrorCode.EPISODE_OVER,
                "the episode is over (the customer decided or the turns ran out): send reset "
                "to start another",
            )

    @property
    def state(self) -> SalesState:
        return SalesState(
            episode_id=self._episode_id,
            step_count=self._steps,
            env_id=self.env_id,
            round=int(self._env.unwrapped.round) if self._episode_id else 0,
            done=self._done,
        )

    def close(self) -> None:
        self._env.close()

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name="salesenv",
            description=f"{self.env_id}: a sales conversation; the agent is the salesperson",
            version=salesenv.__version__,
        )


def json_safe(value: Any) -> Any:
    """`value` with tuples as lists and numpy scalars/arrays as Python numbers/lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class _SerializedScorer:
    """A scorer shared by session threads: one `score_batch` at a time (under `lock`)."""

    def __init__(self, scorer: Any, lock: threading.RLock) -> None:
        self._scorer = scorer
        self._lock = lock

    def score_batch(self, dialogues: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self._scorer.score_batch(dialogues)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scorer, name)


def create_app(
    env_id: str,
    *,
    customer: CustomerLM | None = None,
    scorer: Any = None,
    env_kwargs: dict[str, Any] | None = None,
    scenarios: Sequence[Any] | None = None,
    limits: ServeLimits | None = None,
    batch_window_s: float = 0.005,
) -> FastAPI:
    """The server app for `env_id`, every session sharing `customer` and `scorer`.

    Args:
        env_id: A short or full env id (`salesenv.list_envs()`).
        customer: The customer backend (default: the persona simulator); wrapped in a
            `BatchingCustomer`, so concurrent sessions' calls are batched.
        scorer: The episode scorer (default: the env's); calls are serialised.
        env_kwargs: More `salesenv.make` keyword arguments (protocol, max_rounds, ...).
        scenarios: A suite's scenarios: reset then takes `scenario_index`.
        limits: The server's limits (default `ServeLimits()`).
        batch_window_s: How long a customer batch waits for more sessions' calls.

    Raises:
        salesenv.UnknownEnvError: If `env_id` is unknown.
        ValueError: If `scenarios` is empty.
    """
    from salesenv.customers.persona import PersonaCustomer
    from salesenv.registry import resolve_id
    from salesenv.rewards import EpisodeScorer

    limits = limits or ServeLimits()
    resolve_id(env_id)  # unknown ids fail here, before anything is served
    kwargs = dict(env_kwargs or {})
    model_lock = threading.RLock()
    shared_customer = BatchingCustomer(
        customer or PersonaCustomer(),
        window_s=batch_window_s,
        max_batch=limits.max_sessions,
        lock=model_lock,
    )
    if scorer is None:
        from salesenv.protocol import get_protocol

        profile = get_protocol(kwargs.get("protocol", "salesenv")).scoring_profile
        scorer = EpisodeScorer(profile=profile)
    shared_scorer = _SerializedScorer(scorer, model_lock)
    if scenarios is not None:
        scenarios = tuple(scenarios)
        if not scenarios:
            raise ValueError("the suite has no scenario for this env id: choose another suite")
        kwargs["scenarios"] = scenarios

    def make_env() -> Any:
        return salesenv.make(env_id, customer=shared_customer, scorer=shared_scorer, **kwargs)

    make_env().close()  # a bad env kwarg fails now, not in the first session
    factory = functools.partial(
        SalesEnvironment, make_env, env_id, len(scenarios) if scenarios is not None else None
    )
    server = HTTPEnvServer(
        factory,
        action_cls=SalesAction,
        observation_cls=SalesObservation,
        max_concurrent_envs=limits.max_sessions,
    )
    app = FastAPI(
        title="salesenv",
        description=f"{env_id} as an OpenEnv environment (WebSocket /ws)",
        version=salesenv.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    server.register_routes(app, mode=ServerMode.PRODUCTION)
    # Not an MCP env, and the MCP routes take session ids; /ws is replaced by ours.
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in ("/mcp", "/ws")
    ]
    endpoint = _SessionEndpoint(server, limits)
    app.add_api_websocket_route("/ws", endpoint)
    app.add_middleware(_Guard, token=limits.token, max_body_bytes=limits.max_message_bytes)
    app.state.serve_limits = limits
    app.state.env_server = server
    app.state.env_id = env_id
    app.state.customer = shared_customer
    return app


def app_from_config(
    env_id: str,
    overrides: Sequence[str] = (),
    limits: ServeLimits | None = None,
    suite: Any = None,
) -> FastAPI:
    """`create_app` with the customer, scorer and env settings that Hydra overrides name,
    composed as `salesenv eval` composes them (customer=, scorer=, judge=, scoring.*,
    env.protocol=, env.max_rounds=, ...).

    Args:
        env_id: The env id; its variant sets `env=` unless an override does.
        overrides: Hydra overrides.
        limits: The server's limits.
        suite: A `salesenv.load_suite` suite: its scenarios of the id's language (and
            difficulty, unless mixed) become the server's scenario list.

    Raises:
        salesenv.build.ConfigError: If an override is invalid, or `env=` contradicts the
            env id's variant.
        salesenv.UnknownEnvError: If `env_id` is unknown.
    """
    import hydra

    from salesenv.build import ConfigError, compose_config, instantiate_scorer
    from salesenv.config import apply_protocol, env_kwargs
    from salesenv.ids import EnvId, UnknownIdError
    from salesenv.registry import UnknownEnvError
    from salesenv.runner import SelectionError, select_suite

    try:
        parsed = EnvId.parse(env_id)
    except UnknownIdError as exc:
        raise UnknownEnvError(str(exc)) from None
    variant = parsed.variant or "plain"
    given = [o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0].lstrip("+") == "env"]
    if any(value != variant for value in given):
        raise ConfigError(
            f"env={given[-1]} contradicts the env id {parsed.short} (variant {variant}): drop "
            "env=, or name the env id of that variant"
        )
    cfg = compose_config(["agent=[]", f"env={variant}", *overrides])
    apply_protocol(cfg, overrides)
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)
    scenarios = None
    if suite is not None:
        try:
            selection = select_suite(
                suite,
                variant=parsed.variant,
                language=parsed.language,
                difficulty=parsed.difficulty,
            )
        except SelectionError as exc:
            raise ConfigError(f"--suite: {exc}") from None
        scenarios = selection.groups[0].scenarios
    return create_app(
        parsed.short,
        customer=customer,
        scorer=scorer,
        env_kwargs=env_kwargs(cfg.env),
        scenarios=scenarios,
        limits=limits,
    )


# --- the WebSocket endpoint ---------------------------------------------------------------


def _error(code: ErrorCode, message: str, **extra: Any) -> str:
    return WSErrorResponse(data={"code": code.value, "message": message, **extra}).model_dump_json()


def _observation(observation: SalesObservation) -> str:
    payload = {
        "observation": observation.model_dump(exclude={"reward", "done"}),
        "reward": observation.reward,
        "done": observation.done,
    }
    return WSObservationResponse(data=payload).model_dump_json()


class _Session:
    """A connection's own session: its id, its env, and whether it needs a reset."""

    def __init__(self, session_id: str, env: SalesEnvironment) -> None:
        self.id = session_id
        self.env = env
        self.needs_reset_because: str | None = None


class _SessionEndpoint:
    """The `/ws` endpoint: creates the connection's session, answers its messages."""

    def __init__(self, server: HTTPEnvServer, limits: ServeLimits) -> None:
        self.server = server
        self.limits = limits

    async def __call__(self, websocket: WebSocket) -> None:
        await websocket.accept()
        if "session_id" in websocket.query_params:
            await self._refuse(
                websocket,
                ErrorCode.FORBIDDEN,
                "a connection cannot join an existing session: connect without session_id, "
                "and the server creates a session of your own",
                CLOSE_POLICY,
            )
            return
        try:
            session_id, env = await self.server._create_session()
        except SessionCapacityError as exc:
            await self._refuse(
                websocket,
                ErrorCode.CAPACITY_REACHED,
                f"all {exc.max_sessions} sessions of this server are in use (max_sessions): "
                "retry later, or start the server with a larger --max-sessions",
                CLOSE_TRY_LATER,
            )
            return
        except EnvironmentFactoryError as exc:
            logger.error("salesenv serve: cannot build a session's env: %r", exc.__cause__)
            await self._refuse(
                websocket,
                ErrorCode.FACTORY_ERROR,
                "the server could not build an environment for this session; its log says why",
                CLOSE_INTERNAL,
            )
            return
        session = _Session(session_id, env)
        try:
            await self._serve(websocket, session)
        except WebSocketDisconnect:
            pass
        finally:
            await self.server._destroy_session(session_id)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # already closed
                await websocket.close()

    async def _refuse(
        self, websocket: WebSocket, code: ErrorCode, message: str, close_code: int
    ) -> None:
        try:
            await websocket.send_text(_error(code, message))
            await websocket.close(code=close_code, reason=code.value)
        except (RuntimeError, WebSocketDisconnect):
            pass

    async def _serve(self, websocket: WebSocket, session: _Session) -> None:
        limits = self.limits
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), limits.idle_timeout_s)
            except TimeoutError:
                await self._refuse(
                    websocket,
                    ErrorCode.SESSION_EXPIRED,
                    f"the session was idle for {limits.idle_timeout_s:g} s (idle_timeout_s) and "
                    "has expired: connect again for a new session",
                    CLOSE_GOING_AWAY,
                )
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                data = message.get("bytes") or b""
                size = len(data)
                try:
                    raw = data.decode("utf-8")
                except UnicodeDecodeError:
                    raw = "\ufffd"  # answered as invalid JSON below
            else:
                size = len(raw.encode("utf-8", errors="replace"))
            if size > limits.max_message_bytes:
                reply = _error(
                    ErrorCode.MESSAGE_TOO_LARGE,
                    f"the message has {size} bytes; this server accepts at most "
                    f"{limits.max_message_bytes} (max_message_bytes): send a smaller one",
                )
            else:
                reply = await self._answer(raw, session)
                if reply is None:  # close
                    return
            await websocket.send_text(reply)

    async def _answer(self, raw: str, session: _Session) -> str | None:
        """The response to one message (None for close)."""
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return _error(
                ErrorCode.INVALID_JSON,
                f"the message is not valid JSON ({str(exc)[:120]}): send one JSON object per "
                'message, e.g. {"type": "step", "data": {"utterance": "Hello"}}',
            )
        if not isinstance(message, dict):
            return _error(
                ErrorCode.VALIDATION_ERROR,
                f"a message is a JSON object with a type, got a JSON {type(message).__name__}",
            )
        refused = self._foreign_session(message, session)
        if refused is not None:
            return refused
        kind = message.get("type")
        if kind not in MESSAGE_TYPES:
            shown = repr(kind)[:60]
            return _error(
                ErrorCode.UNKNOWN_TYPE,
                f"unknown message type {shown}: send one of {', '.join(MESSAGE_TYPES)}",
            )
        try:
            if kind == "reset":
                return await self._reset(WSResetMessage.model_validate(message), session)
            if kind == "step":
                return await self._step(WSStepMessage.model_validate(message), session)
            if kind == "state":
                WSStateMessage.model_validate(message)
                state = session.env.state
                return WSStateResponse(data=state.model_dump()).model_dump_json()
            WSCloseMessage.model_validate(message)
            return None
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False, include_context=False)
            first = errors[0] if errors else {"loc": (), "msg": "invalid"}
            where = ".".join(str(part) for part in first["loc"]) or "message"
            return _error(
                ErrorCode.VALIDATION_ERROR,
                f"invalid {kind} message at {where}: {first['msg']}. {_SHAPES[kind]}",
                errors=json_safe([{"loc": e["loc"], "msg": e["msg"]} for e in errors[:10]]),
            )
        except RemoteEnvError as exc:
            return _error(exc.code, str(exc))

    def _foreign_session(self, message: dict[str, Any], session: _Session) -> str | None:
        """FORBIDDEN if the message names a session id other than its connection's own;
        the connection's own id is accepted (and removed)."""
        places = [message]
        if isinstance(message.get("data"), dict):
            places.append(message["data"])
        for place in places:
            if "session_id" not in place:
                continue
            named = place.pop("session_id")
            own = isinstance(named, str) and hmac.compare_digest(
                named.encode("utf-8", errors="replace"), session.id.encode()
            )
            if not own:
                return _error(
                    ErrorCode.FORBIDDEN,
                    "this message names a session that is not this connection's: a connection "
                    "acts only on its own session (drop session_id)",
                )
        return None

    async def _reset(self, message: WSResetMessage, session: _Session) -> str:
        data = SalesResetData.model_validate(message.data)
        observation = await self._run(
            session, "reset", session.env.reset, seed=data.seed, scenario_index=data.scenario_index
        )
        session.needs_reset_because = None
        observation.metadata = {"session_id": session.id}
        return _observation(observation)

    async def _step(self, message: WSStepMessage, session: _Session) -> str:
        if session.needs_reset_because is not None:
            raise RemoteEnvError(
                ErrorCode.NO_EPISODE,
                f"this session's episode was abandoned ({session.needs_reset_because}): send "
                "reset to start a new one",
            )
        session.env.check_can_step()
        action = SalesAction.model_validate(
            message.data, context={"max_action_chars": self.limits.max_action_chars}
        )
        return _observation(await self._run(session, "step", session.env.step, action))

    async def _run(self, session: _Session, what: str, call: Callable, *args, **kwargs) -> Any:
        """Runs `call` in the session's thread, bounded by the step timeout."""
        timeout = self.limits.step_timeout_s
        try:
            result = await asyncio.wait_for(
                self.server._run_in_session_executor(session.id, call, *args, **kwargs), timeout
            )
        except TimeoutError:
            session.needs_reset_because = f"its {what} timed out"
            raise RemoteEnvError(
                ErrorCode.TIMEOUT,
                f"the {what} took longer than {timeout:g} s (step_timeout_s), the customer "
                "backend may be overloaded: the episode is abandoned, send reset to start a "
                "new one",
            ) from None
        except RemoteEnvError:
            raise
        except CustomerBackendError as exc:
            session.needs_reset_because = f"its {what} failed"
            raise RemoteEnvError(
                ErrorCode.EXECUTION_ERROR,
                f"the customer backend failed: {exc}. Send reset to start a new episode",
            ) from None
        except Exception as exc:
            session.needs_reset_because = f"its {what} failed"
            logger.exception("salesenv serve: a session's %s failed", what)
            raise RemoteEnvError(
                ErrorCode.EXECUTION_ERROR,
                f"the {what} failed ({type(exc).__name__}; the server log has the details): "
                "send reset to start a new episode",
            ) from None
        self.server._update_session_activity(session.id, increment_step=what == "step")
        return result


_SHAPES = {
    "reset": 'A reset is {"type": "reset", "data": {"seed": 0}} (data may hold seed, an int >= 0, '
    "and scenario_index, an int, on a server with a suite; nothing else).",
    "step": 'A step is {"type": "step", "data": {"utterance": "..."}} (utterance: a str).',
    "state": 'A state request is {"type": "state"}.',
    "close": 'A close is {"type": "close"}.',
}


# --- token and size guard -------------------------------------------------------------------


class _Guard:
    """ASGI middleware: the shared-secret token on every HTTP request and WebSocket
    handshake (before any session exists), and the HTTP body size limit."""

    def __init__(self, app: Any, token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.token = token.strip().encode() if token else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.token is not None and not self._authorized(scope):
            if kind == "http":
                await _http_error(send, 401, ErrorCode.UNAUTHORIZED, UNAUTHORIZED)
            else:
                await _refuse_handshake(scope, receive, send)
            return
        if kind == "http":
            length = dict(scope.get("headers", ())).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > self.max_body_bytes:
                await _http_error(
                    send,
                    413,
                    ErrorCode.MESSAGE_TOO_LARGE,
                    f"the request body exceeds {self.max_body_bytes} bytes (max_message_bytes)",
                )
                return
            receive = self._bounded(receive)
        await self.app(scope, receive, send)

    def _authorized(self, scope: dict) -> bool:
        header = dict(scope.get("headers", ())).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token)

    def _bounded(self, receive: Callable) -> Callable:
        seen = 0

        async def bounded_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                return {"type": "http.disconnect"}
            return message

        return bounded_receive


async def _http_error(send: Callable, status: int, code: ErrorCode, message: str) -> None:
    body = json.dumps({"type": "error", "data": {"code": code.value, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_handshake(scope: dict, receive: Callable, send: Callable) -> None:
    """Answers a WebSocket handshake without the right token: HTTP 401 where the server
    supports denial responses, else close code 1008."""
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps(
            {"type": "error", "data": {"code": "UNAUTHORIZED", "message": UNAUTHORIZED}}
        ).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": "UNAUTHORIZED"})


UNAUTHORIZED = (
    "this server needs a token: send the header 'Authorization: Bearer TOKEN' with the secret "
    "the server was started with (SalesEnvClient(url, token=...))"
)


# --- running it -------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on host:port (port 0: a free port).

    Raises:
        OSError: If the address cannot be bound; the message names the --host/--port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --port "
            "(0 picks a free one) or --host"
        ) from None
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app: FastAPI, sock: socket.socket, quiet: bool) -> Any:
    import uvicorn

    limits: ServeLimits = app.state.serve_limits
    config = uvicorn.Config(
        app,
        ws_max_size=limits.max_message_bytes * TRANSPORT_SIZE_FACTOR,
        limit_concurrency=2 * limits.max_sessions + 16,
        log_level="warning",
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
        lifespan="on",
    )
    return uvicorn.Server(config)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def run(
    app: FastAPI, host: str = "127.0.0.1", port: int = 8000, sock: socket.socket | None = None
) -> None:
    """Serves `app` until interrupted (Ctrl-C / SIGTERM); prints the URL once listening.

    Args:
        app: The app (`create_app`, `app_from_config`).
        host: The address to listen on.
        port: The port (0: a free one).
        sock: A socket already bound by `bind_socket` (then host and port are unused).

    Raises:
        OSError: If host:port cannot be bound.
    """
    sock = sock or bind_socket(host, port)
    server = _uvicorn_server(app, sock, quiet=False)
    startup = server.startup

    async def announce(sockets: list[socket.socket] | None = None) -> None:
        await startup(sockets=sockets)
        if server.started:
            limits: ServeLimits = app.state.serve_limits
            print(
                f"salesenv serve: {app.state.env_id} on {_url(sock)} (WebSocket {_url(sock)}/ws "
                f"-> ws://); {limits.max_sessions} sessions at most, token "
                f"{'required' if limits.token else 'off'}. Ctrl-C stops.",
                flush=True,
            )

    server.startup = announce
    with sock:
        server.run(sockets=[sock])


@dataclass
class RunningServer:
    """A server running in a background thread (`serve_in_thread`)."""

    url: str
    port: int
    _server: Any
    _thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server and waits for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 30.0
) -> RunningServer:
    """Starts serving `app` in a daemon thread and returns once it listens.

    Raises:
        OSError: If host:port cannot be bound.
        RuntimeError: If the server does not start within `startup_timeout_s`.
    """
    sock = bind_socket(host, port)
    server = _uvicorn_server(app, sock, quiet=True)
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by the waiting caller
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name="salesenv-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the salesenv server did not start: {failure or 'timeout'}")
        time.sleep(0.02)
    return RunningServer(_url(sock), sock.getsockname()[1], server, thread)
