"""A loopback URL with nothing listening, for the tests of an unreachable server."""

from __future__ import annotations

import socket


def unreachable_url() -> str:
    """An OpenAI-style base URL on a free loopback port (nothing listens there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def unreachable_customer() -> tuple[str, list[str]]:
    """The URL and the Hydra overrides of an OpenAI customer at `unreachable_url()`, with
    no retries and a short timeout, so that a run fails within seconds."""
    url = unreachable_url()
    overrides = ["customer=openai", "customer.model=tiny", f"customer.base_url={url}"]
    return url, [*overrides, "customer.max_retries=0", "customer.timeout=2"]
