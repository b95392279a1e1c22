"""`salesenv serve`: a real uvicorn server on 127.0.0.1 (port 0), played by the typed client,
openenv's GenericEnvClient and raw WebSocket messages.

Covers: remote episodes equal in-process ones (concurrent sessions, distinct seeds); the
structured error of each bad input, after which the connection and the server go on;
capacity; session ids that are not the connection's own; the token; idle expiry; the step
timeout; the information barrier; the HTTP routes that must not exist.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("openenv.core", reason="needs the serve extra (openenv-core)")

import salesenv
from salesenv.agents import ScriptedSalesAgent
from salesenv.cli import main
from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.persona import PersonaCustomer
from salesenv.remote import (
    RemoteSalesEnv,
    SalesEnvClient,
    SalesServerError,
    ServeLimits,
    app_from_config,
    create_app,
    serve_in_thread,
)

ENV_ID = "SalesLLM-en-hard"
SLOW_MARK = "[slow]"


class SlowCustomer(CustomerLM):
    """The persona customer, taking `delay_s` longer for turns that contain SLOW_MARK."""

    name = "slow-persona"
    deterministic = True

    def __init__(self, delay_s: float) -> None:
        self.inner = PersonaCustomer()
        self.delay_s = delay_s

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        if any(SLOW_MARK in r.turns[-1].text for r in requests):
            time.sleep(self.delay_s)
        return self.inner.respond(requests)

    def release(self, conversation_id: str) -> None:
        self.inner.release(conversation_id)


@pytest.fixture(scope="module")
def start() -> Iterator[Any]:
    """Starts servers for the module (the ~8 s openenv import happens once); stops them."""
    running = []

    def start_server(env_id: str = ENV_ID, **kwargs: Any) -> Any:
        server = serve_in_thread(create_app(env_id, **kwargs))
        server.app = server._server.config.app
        running.append(server)
        return server

    yield start_server
    for server in running:
        server.stop()


@pytest.fixture(scope="module")
def server(start) -> Any:
    return start(limits=ServeLimits(max_sessions=16))


# --- helpers ---------------------------------------------------------------------------------


def connect(server: Any, token: str | None = None, path: str = "", endpoint: str = "/ws") -> Any:
    from websockets.sync.client import connect as ws_connect

    headers = {"Authorization": f"Bearer {token}"} if token else None
    url = server.url.replace("http://", "ws://") + endpoint + path
    return ws_connect(url, additional_headers=headers, max_size=None)


def ask(ws: Any, message: dict | str) -> dict:
    ws.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(ws.recv(timeout=30))


def error_code(response: dict) -> str | None:
    return response["data"]["code"] if response["type"] == "error" else None


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def play_local(env_id: str, seed: int) -> tuple[list[tuple], Any]:
    """An in-process episode of the scripted agent: (text, reward, terminated, truncated,
    JSON info) per reset and step, and the scenario."""
    env = salesenv.make(env_id)
    text, info = env.reset(seed=seed)
    agent = ScriptedSalesAgent()
    agent.reset(info, seed=seed)
    steps = [(text, None, False, False, as_json(info))]
    done = False
    while not done:
        text, reward, terminated, truncated, info = env.step(agent.act(text, info))
        steps.append((text, reward, terminated, truncated, as_json(info)))
        done = terminated or truncated
    return steps, env.unwrapped.scenario


def play_remote(env: RemoteSalesEnv, seed: int) -> list[tuple]:
    text, info = env.reset(seed=seed)
    agent = ScriptedSalesAgent()
    agent.reset(info, seed=seed)
    steps = [(text, None, False, False, info)]
    done = False
    while not done:
        text, reward, terminated, truncated, info = env.step(agent.act(text, info))
        steps.append((text, reward, terminated, truncated, info))
        done = terminated or truncated
    return steps


async def play_async(url: str, seed: int) -> list[tuple]:
    async with SalesEnvClient(url) as client:
        result = await client.reset(seed=seed)
        observation = result.observation
        agent = ScriptedSalesAgent()
        agent.reset(observation.info, seed=seed)
        steps = [(observation.text, None, False, False, observation.info)]
        while not result.done:
            result = await client.step(agent.act(observation.text, observation.info))
            observation = result.observation
            steps.append(
                (
                    observation.text,
                    result.reward,
                    observation.terminated,
                    observation.truncated,
                    observation.info,
                )
            )
        return steps


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def http_status(url: str, method: str = "GET", token: str | None = None) -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --- episodes ----------------------------------------------------------------------------------


def test_concurrent_sessions_play_exactly_the_in_process_episodes(server):
    seeds = list(range(8))

    async def all_at_once() -> list[list[tuple]]:
        return await asyncio.gather(*(play_async(server.url, s) for s in seeds))

    remote = asyncio.run(all_at_once())
    for seed, episode in zip(seeds, remote, strict=True):
        local, _ = play_local(ENV_ID, seed)
        assert episode == local, f"seed {seed}"
        assert episode[-1][4]["score"]["final"] == episode[-1][1]
    assert len({episode[0][0] + episode[1][0] for episode in remote}) > 1  # distinct episodes


def test_remote_env_adapter_and_sync_threads_match_in_process(server):
    def play(seed: int) -> list[tuple]:
        with RemoteSalesEnv(server.url) as env:
            steps = play_remote(env, seed)
            assert env.session_id and len(env.session_id) >= 32
            state = env.state()
            assert state.done and state.step_count == len(steps) - 1 and state.env_id == ENV_ID
            return steps

    with ThreadPoolExecutor(4) as pool:
        remote = list(pool.map(play, [11, 12, 13, 14]))
    for seed, episode in zip([11, 12, 13, 14], remote, strict=True):
        assert episode == play_local(ENV_ID, seed)[0]


def test_generic_openenv_client_resets_and_steps(server):
    from openenv.core.generic_client import GenericEnvClient

    local, _ = play_local(ENV_ID, 5)
    with GenericEnvClient(base_url=server.url).sync() as client:
        result = client.reset(seed=5)
        assert result.observation["text"] == local[0][0]
        assert result.observation["info"]["product"] == local[0][4]["product"]
        assert not result.done
        agent = ScriptedSalesAgent()
        agent.reset(result.observation["info"], seed=5)
        utterance = agent.act(result.observation["text"], result.observation["info"])
        result = client.step({"utterance": utterance})
        assert result.observation["text"] == local[1][0]
        assert result.reward == 0.0 and not result.done


def test_schema_health_metadata_served_and_stateless_and_mcp_routes_absent(server):
    assert http_status(server.url + "/health") == 200
    assert http_status(server.url + "/metadata") == 200
    with urllib.request.urlopen(server.url + "/schema", timeout=10) as response:
        schema = json.load(response)
    assert schema["action"]["properties"]["utterance"]["type"] == "string"
    assert http_status(server.url + "/mcp", "POST") in (404, 405)
    assert http_status(server.url + "/reset", "POST") in (404, 405)
    assert http_status(server.url + "/step", "POST") in (404, 405)
    assert http_status(server.url + "/state") in (404, 405)
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        connect(server, endpoint="/mcp").close()


# --- bad input ---------------------------------------------------------------------------------

STEP = {"type": "step", "data": {"utterance": "Hello! What are you looking for today?"}}

BAD_MESSAGES = {
    "invalid json": ("{not json", "INVALID_JSON"),
    "not an object": ("[1, 2]", "VALIDATION_ERROR"),
    "unknown type": ({"type": "dance"}, "UNKNOWN_TYPE"),
    "no type": ({"data": {}}, "UNKNOWN_TYPE"),
    "non-string action": ({"type": "step", "data": {"utterance": 42}}, "VALIDATION_ERROR"),
    "list action": ({"type": "step", "data": {"utterance": ["a"]}}, "VALIDATION_ERROR"),
    "unknown action field": (
        {"type": "step", "data": {"utterance": "hi", "tone": "loud"}},
        "VALIDATION_ERROR",
    ),
    "unknown message field": ({**STEP, "priority": 1}, "VALIDATION_ERROR"),
    "oversized action": ({"type": "step", "data": {"utterance": "x" * 8001}}, "VALIDATION_ERROR"),
    "oversized message": (
        {"type": "step", "data": {"utterance": "x" * 70_000}},
        "MESSAGE_TOO_LARGE",
    ),
    "negative seed": ({"type": "reset", "data": {"seed": -1}}, "VALIDATION_ERROR"),
    "string seed": ({"type": "reset", "data": {"seed": "1"}}, "VALIDATION_ERROR"),
    "reset options": (
        {"type": "reset", "data": {"options": {"scenario": {"customer_prompt": "x"}}}},
        "VALIDATION_ERROR",
    ),
    "index without suite": ({"type": "reset", "data": {"scenario_index": 0}}, "VALIDATION_ERROR"),
}


@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_bad_input_gets_its_error_and_the_session_and_server_go_on(server, case):
    message, code = BAD_MESSAGES[case]
    with connect(server) as ws, connect(server) as other:
        assert ask(ws, {"type": "reset", "data": {"seed": 3}})["type"] == "observation"
        response = ask(ws, message)
        assert error_code(response) == code, response
        assert len(response["data"]["message"]) > 20  # says what is wrong and what to do
        # The same connection goes on where it was: the bad message changed nothing.
        state = ask(ws, {"type": "state"})["data"]
        assert state["step_count"] == 0 and state["round"] == 0 and not state["done"]
        after = ask(ws, STEP)
        assert after["type"] == "observation" and after["data"]["observation"]["info"]["round"] == 1
        assert ask(other, {"type": "reset", "data": {"seed": 4}})["type"] == "observation"
        assert ask(other, STEP)["type"] == "observation"


def test_step_before_reset_and_after_the_end(server):
    local, _ = play_local(ENV_ID, 2)
    with connect(server) as ws:
        assert error_code(ask(ws, STEP)) == "NO_EPISODE"
        first = ask(ws, {"type": "reset", "data": {"seed": 2}})
        agent = ScriptedSalesAgent()
        observation = first["data"]["observation"]
        agent.reset(observation["info"], seed=2)
        done = False
        while not done:
            utterance = agent.act(observation["text"], observation["info"])
            response = ask(ws, {"type": "step", "data": {"utterance": utterance}})
            observation, done = response["data"]["observation"], response["data"]["done"]
        assert observation["info"] == local[-1][4]
        over = ask(ws, STEP)
        assert error_code(over) == "EPISODE_OVER" and "reset" in over["data"]["message"]
        again = ask(ws, {"type": "reset", "data": {"seed": 2}})  # the session goes on
        assert again["data"]["observation"]["text"] == local[0][0]


def test_a_message_beyond_the_transport_limit_closes_only_its_connection(server):
    from websockets.exceptions import ConnectionClosed

    with connect(server) as ws, connect(server) as other:
        ask(other, {"type": "reset", "data": {"seed": 1}})
        ws.send("x" * (65536 * 4 + 10))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert ask(other, STEP)["type"] == "observation"


# --- sessions ----------------------------------------------------------------------------------


def test_naming_another_sessions_id_is_forbidden_and_changes_nothing(server):
    local, _ = play_local(ENV_ID, 7)
    with connect(server) as victim, connect(server) as intruder:
        victim_id = ask(victim, {"type": "reset", "data": {"seed": 7}})["data"]["observation"][
            "metadata"
        ]["session_id"]
        own_id = ask(intruder, {"type": "reset", "data": {"seed": 8}})["data"]["observation"][
            "metadata"
        ]["session_id"]
        assert victim_id != own_id and len(victim_id) >= 32
        attempts = [
            {**STEP, "session_id": victim_id},
            {"type": "step", "data": {"utterance": "hi", "session_id": victim_id}},
            {"type": "reset", "data": {"seed": 1, "session_id": victim_id}},
            {"type": "state", "session_id": victim_id},
            {"type": "close", "session_id": victim_id},
            {"type": "state", "session_id": "00000000-0000-4000-8000-000000000000"},
            {"type": "state", "session_id": 12345},
        ]
        for attempt in attempts:
            response = ask(intruder, attempt)
            assert error_code(response) == "FORBIDDEN", attempt
        # The victim's session is untouched: it plays on exactly as in-process.
        assert ask(victim, {"type": "state"})["data"]["step_count"] == 0
        agent = ScriptedSalesAgent()
        agent.reset(local[0][4], seed=7)
        utterance = agent.act(local[0][0], local[0][4])
        step = ask(victim, {"type": "step", "data": {"utterance": utterance}})
        assert step["data"]["observation"]["text"] == local[1][0]
        # Naming its own id is allowed; the intruder's connection still works.
        assert ask(intruder, {**STEP, "session_id": own_id})["type"] == "observation"
    with connect(server, path=f"?session_id={victim_id}") as joiner:
        refused = json.loads(joiner.recv(timeout=10))
        assert error_code(refused) == "FORBIDDEN"


def test_capacity_refuses_the_extra_connection_and_the_others_play_on(start):
    small = start(limits=ServeLimits(max_sessions=2))
    first, second = RemoteSalesEnv(small.url), RemoteSalesEnv(small.url)
    first.reset(seed=1)
    second.reset(seed=2)
    extra = RemoteSalesEnv(small.url)
    with pytest.raises(SalesServerError) as refused:
        extra.reset(seed=3)
    assert refused.value.code == "CAPACITY_REACHED"
    assert "--max-sessions" in refused.value.message
    extra.close()
    for env, seed in ((first, 1), (second, 2)):  # the two sessions play to their end
        env.reset(seed=seed)
        assert play_remote(env, seed) == play_local(ENV_ID, seed)[0]
    first.close()
    assert wait_for(lambda: small.app.state.env_server.active_sessions == 1)
    with RemoteSalesEnv(small.url) as later:  # a freed slot is used again
        assert later.reset(seed=3)[0] == play_local(ENV_ID, 3)[0][0][0]
    second.close()


def test_idle_session_expires_and_frees_its_slot(start):
    idle = start(limits=ServeLimits(max_sessions=1, idle_timeout_s=0.5))
    env = RemoteSalesEnv(idle.url)
    env.reset(seed=1)
    assert idle.app.state.env_server.active_sessions == 1
    assert wait_for(lambda: idle.app.state.env_server.active_sessions == 0, timeout=5)
    with pytest.raises(SalesServerError) as expired:
        env.step("Hello?")
    assert expired.value.code == "SESSION_EXPIRED"
    env.close()
    with RemoteSalesEnv(idle.url) as again:
        assert again.reset(seed=1)[0] == play_local(ENV_ID, 1)[0][0][0]


@pytest.mark.slow
def test_step_timeout_answers_timeout_and_a_new_reset_recovers(start):
    slow = start(customer=SlowCustomer(delay_s=1.5), limits=ServeLimits(step_timeout_s=0.5))
    with RemoteSalesEnv(slow.url) as env:
        env.reset(seed=1)
        began = time.monotonic()
        with pytest.raises(SalesServerError) as timed_out:
            env.step(f"{SLOW_MARK} Hello!")
        assert timed_out.value.code == "TIMEOUT"
        assert time.monotonic() - began < 1.4  # answered at the timeout, not at the reply
        with pytest.raises(SalesServerError) as abandoned:
            env.step("Hello?")
        assert abandoned.value.code == "NO_EPISODE" and "timed out" in abandoned.value.message
        time.sleep(1.5)  # the abandoned call finishes in its thread
        text, _ = env.reset(seed=1)
        assert text == play_local(ENV_ID, 1)[0][0][0]
        assert env.step("Hello! What are you looking for?")[4]["round"] == 1


# --- token -------------------------------------------------------------------------------------


def test_token_is_required_on_the_handshake_and_http(start):
    from websockets.exceptions import InvalidStatus

    guarded = start(limits=ServeLimits(token="s3cret-token"))
    for token in (None, "wrong-token"):
        env = RemoteSalesEnv(guarded.url, token=token)
        with pytest.raises(SalesServerError) as refused:
            env.reset(seed=1)
        assert refused.value.code == "UNAUTHORIZED"
        with pytest.raises(InvalidStatus) as status:
            connect(guarded, token=token)
        assert status.value.response.status_code == 401
    assert guarded.app.state.env_server.active_sessions == 0  # no session was created
    assert http_status(guarded.url + "/health") == 401
    assert http_status(guarded.url + "/health", token="wrong-token") == 401
    assert http_status(guarded.url + "/health", token="s3cret-token") == 200
    with RemoteSalesEnv(guarded.url, token="s3cret-token") as env:
        assert play_remote(env, 4) == play_local(ENV_ID, 4)[0]


# --- the information barrier -------------------------------------------------------------------


def strings(value: Any) -> Iterator[str]:
    """Every key and string value in a decoded JSON message."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("env_id", [ENV_ID, "SalesLLM-zh-mixed"])
def test_no_message_carries_the_customers_private_script(start, server, env_id):
    target = server if env_id == ENV_ID else start(env_id)
    local, scenario = play_local(env_id, 9)
    persona = scenario.persona
    private = [
        scenario.customer_prompt,
        persona.communication,
        *(line for line in scenario.customer_prompt.splitlines() if len(line) > 12),
    ]
    # What the customer may say in its own words is public once said; the rest is not.
    said = "\n".join(step[0] for step in local)
    private = [text for text in private if text not in said]
    frames = []
    with connect(target) as ws:
        ws.send(json.dumps({"type": "reset", "data": {"seed": 9}}))
        frames.append(ws.recv(timeout=30))
        agent = ScriptedSalesAgent()
        observation = json.loads(frames[-1])["data"]["observation"]
        agent.reset(observation["info"], seed=9)
        done = False
        while not done:
            utterance = agent.act(observation["text"], observation["info"])
            ws.send(json.dumps({"type": "step", "data": {"utterance": utterance}}))
            frames.append(ws.recv(timeout=30))
            data = json.loads(frames[-1])["data"]
            observation, done = data["observation"], data["done"]
        ws.send(json.dumps({"type": "state"}))
        frames.append(ws.recv(timeout=30))
    messages = [json.loads(frame) for frame in frames]
    # Exactly what SalesEnv gives an agent, and nothing more (the session id aside).
    for message, step in zip(messages, local, strict=False):
        assert message["data"]["observation"]["info"] == step[4]
        assert message["data"]["observation"]["text"] == step[0]
    seen = "\n".join(text for message in messages for text in strings(message))
    leaked = [text[:40] for text in private if text in seen]
    assert not leaked
    for key in ("customer_prompt", "persona", "buy_propensity", "motivations", "pain_points"):
        assert key not in {k for m in messages for k in strings(m) if k == key}


# --- the command line ------------------------------------------------------------------------


def test_app_from_config_plays_like_the_default_and_takes_a_suite(start):
    suite = salesenv.load_suite("salesllm-1805")
    app = app_from_config("SalesLLM-en-mixed", ["customer=persona"], ServeLimits(), suite=suite)
    configured = serve_in_thread(app)
    try:
        with RemoteSalesEnv(configured.url) as env:
            text, info = env.reset(seed=0, options={"scenario_index": 2})
            english = [s for s in suite.scenarios if s.language == "en"]
            assert info["scenario_id"] == english[2].id and text == english[2].trigger
            with pytest.raises(SalesServerError) as out_of_range:
                env.reset(seed=0, options={"scenario_index": len(english)})
            assert out_of_range.value.code == "VALIDATION_ERROR"
            assert f"0..{len(english) - 1}" in out_of_range.value.message
    finally:
        configured.stop()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "SalesLLM-xx-hard"], "is not an env id"),
        (["serve", ENV_ID, "--max-sessions", "0"], "at least 1"),
        (["serve", ENV_ID, "--token-file", "/nonexistent/token"], "--token-file"),
        (["serve", ENV_ID, "customer.modle=x"], "modle"),
        (["serve", "SalesLLM-en-hard", "env=portfolio"], "contradicts"),
    ],
)
def test_serve_usage_errors_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        status = main(argv)
        raise SystemExit(status)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_serve_command_serves_until_stopped(tmp_path, monkeypatch):
    """`salesenv serve --port 0 --token-file PATH` builds the app it is asked for and runs it."""
    import salesenv.remote.server as server_module

    token_file = tmp_path / "token"
    token_file.write_text("file-secret\n", encoding="utf-8")
    started: dict[str, Any] = {}

    def run_in_thread(app, host="127.0.0.1", port=8000, sock=None):
        assert sock.getsockname()[0] == "127.0.0.1"  # loopback by default
        sock.close()
        started["server"] = serve_in_thread(app)

    monkeypatch.setattr(server_module, "run", run_in_thread)
    assert main(["serve", ENV_ID, "--port", "0", "--token-file", str(token_file)]) == 0
    running = started["server"]
    try:
        with RemoteSalesEnv(running.url, token="file-secret") as env:
            assert env.reset(seed=0)[0] == play_local(ENV_ID, 0)[0][0][0]
        app = running._server.config.app
        limits = app.state.serve_limits
        assert limits.token == "file-secret" and "file-secret" not in repr(limits)
    finally:
        running.stop()
