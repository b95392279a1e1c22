"""`salesenv serve`: the environment as an OpenEnv-compatible server."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from salesenv.cli.common import UsageError, env_id_or_none, load_suite_or_none
from salesenv.protocol import PROTOCOLS

#: The environment variable that may hold the shared secret (instead of --token-file).
TOKEN_VARIABLE = "SALESENV_SERVE_TOKEN"

SERVE_HELP = f"""\
Serves ENV_ID as an OpenEnv-compatible environment: each WebSocket connection to /ws is a
session with its own conversation (reset, step, state), all sessions sharing one customer
backend (their calls batched) and one scorer. Clients: salesenv.remote.SalesEnvClient
(async; .sync()), salesenv.remote.RemoteSalesEnv (Gymnasium-style), or openenv's
GenericEnvClient. Protocol, error codes, limits: docs/serving.md.

Safe by default: it listens on 127.0.0.1 only; for other machines give --host 0.0.0.0 and
a token (--token-file PATH, or the {TOKEN_VARIABLE} environment variable; never on the
command line): clients then send `Authorization: Bearer TOKEN`.

Configure the customer, scorer and protocol with Hydra overrides as for `salesenv eval`:
  customer=persona | transformers | vllm | openai  (+ customer.model=...)
  scorer=decision | oracle | embedded | hf | llm     judge=rubric | llm
  --protocol salesllm-official (or env.protocol=...)  env.max_rounds=N

Examples:
  salesenv serve SalesLLM-en-hard                                  # persona customer, :8000
  salesenv serve SalesLLM-zh-mixed --suite salesllm-1805 --port 0  # reset takes scenario_index
  salesenv serve SalesLLM-en-hard --max-sessions 256 customer=vllm customer.model=/models/cust
  SALESENV_SERVE_TOKEN=$(cat secret) salesenv serve SalesLLM-en-hard --host 0.0.0.0
"""


def add_parser(commands: Any) -> None:
    """Adds `salesenv serve` to the command parsers."""
    serve = commands.add_parser(
        "serve",
        help="serve an env over the network (OpenEnv-compatible)",
        description=SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("env_id", metavar="ENV_ID", help="env id, e.g. SalesLLM-en-hard")
    serve.add_argument(
        "--suite",
        help="a built-in suite or JSONL file: its scenarios of ENV_ID's language (and "
        "difficulty, unless mixed) are what reset plays (scenario_index picks one)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (8000; 0 picks a free one)")
    serve.add_argument(
        "--max-sessions", type=_positive_int, default=64, help="sessions at once (64)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=_positive_float,
        default=600.0,
        metavar="SECONDS",
        help="a session idle this long expires (600)",
    )
    serve.add_argument(
        "--step-timeout",
        type=_positive_float,
        default=120.0,
        metavar="SECONDS",
        help="a reset or step taking longer answers TIMEOUT (120)",
    )
    serve.add_argument(
        "--max-message-bytes",
        type=_positive_int,
        default=65536,
        help="largest WebSocket message or HTTP body (65536)",
    )
    serve.add_argument(
        "--max-action-chars", type=_positive_int, default=8000, help="longest utterance (8000)"
    )
    serve.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help=f"file holding the shared secret (or set {TOKEN_VARIABLE})",
    )
    serve.add_argument(
        "--protocol",
        choices=list(PROTOCOLS),
        help="conversation protocol (env.protocol; default salesenv)",
    )
    serve.add_argument("overrides", nargs="*", help="Hydra overrides: customer=, scorer=, ...")
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Runs `salesenv serve`: builds the app from the overrides and serves it until stopped."""
    from salesenv.cli.eval import protocol_overrides

    env_id = env_id_or_none(args.env_id)
    if env_id is None:
        raise UsageError(f"{args.env_id!r} is not an env id: see `salesenv list`")
    if importlib.util.find_spec("openenv") is None:
        raise ImportError(
            "salesenv serve needs openenv-core: pip install 'salesenv[serve]' (openenv-core "
            "is not installed)"
        )
    from salesenv.remote.server import (
        ServeLimits,
        app_from_config,
        bind_socket,
        is_loopback,
        run,
    )

    token = read_token(args.token_file)
    try:
        limits = ServeLimits(
            max_sessions=args.max_sessions,
            idle_timeout_s=args.idle_timeout,
            step_timeout_s=args.step_timeout,
            max_message_bytes=args.max_message_bytes,
            max_action_chars=args.max_action_chars,
            token=token,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    suite = None
    if args.suite is not None:
        suite = load_suite_or_none(args.suite)
        if suite is None:
            raise UsageError(
                f"--suite {args.suite!r} is neither a built-in suite (salesllm-1805) nor a file"
            )
    if not is_loopback(args.host) and token is None:
        print(
            f"warning: --host {args.host} lets other machines connect and there is no token: "
            f"anyone who reaches this port can use the server. Give --token-file PATH or set "
            f"{TOKEN_VARIABLE}.",
            file=sys.stderr,
        )
    app = app_from_config(env_id, protocol_overrides(args), limits=limits, suite=suite)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    run(app, sock=sock)
    return 0


def read_token(path: Path | None) -> str | None:
    """The shared secret from `--token-file` or the environment (None: no token).

    Raises:
        UsageError: If the file cannot be read or is empty.
    """
    if path is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--token-file {path}: cannot read it ({exc})") from None
        if not token:
            raise UsageError(f"--token-file {path} is empty: put the shared secret in it")
        return token
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    return token or None


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value
