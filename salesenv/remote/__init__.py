"""salesenv over the network: `salesenv serve` (an OpenEnv-compatible server) and its clients.

    from salesenv.remote import RemoteSalesEnv, SalesEnvClient, app_from_config, serve_in_thread

Needs the `serve` extra (`pip install salesenv[serve]`, openenv-core). The names load
lazily: openenv-core takes several seconds to import, and `import salesenv` never imports it.
docs/serving.md describes the protocol, the error codes, the limits and the security model.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ErrorCode": "salesenv.remote.models",
    "SalesAction": "salesenv.remote.models",
    "SalesObservation": "salesenv.remote.models",
    "SalesState": "salesenv.remote.models",
    "SalesEnvironment": "salesenv.remote.server",
    "ServeLimits": "salesenv.remote.server",
    "RunningServer": "salesenv.remote.server",
    "app_from_config": "salesenv.remote.server",
    "create_app": "salesenv.remote.server",
    "run": "salesenv.remote.server",
    "serve_in_thread": "salesenv.remote.server",
    "RemoteSalesEnv": "salesenv.remote.client",
    "SalesEnvClient": "salesenv.remote.client",
    "SalesServerError": "salesenv.remote.client",
}

__all__ = sorted(_EXPORTS)

#: What to install when openenv-core is missing.
INSTALL_HINT = "salesenv serve and its clients need openenv-core: pip install 'salesenv[serve]'"


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = import_module(_EXPORTS[name])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("openenv", "fastapi", "uvicorn", "websockets"):
            raise ImportError(f"{INSTALL_HINT} (missing: {exc.name})") from exc
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value
