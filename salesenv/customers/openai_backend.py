"""The customer on any OpenAI-compatible chat-completions server, requests sent concurrently.

Works with vLLM's and SGLang's servers, llama.cpp's server and hosted APIs. The base URL,
model and key come from arguments or the environment (`OPENAI_BASE_URL`,
`OPENAI_API_KEY`), never from code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import warnings
from collections.abc import Sequence
from typing import Any

from salesenv.customers.base import CustomerBackendError
from salesenv.customers.chat import (
    DEFAULT_CHAT_TEMPLATE_KWARGS,
    ChatBackend,
    Message,
    SamplingConfig,
)


class OpenAIChat(ChatBackend):
    """A customer played by a model behind an OpenAI-compatible server.

    One `respond` call sends all conversations' requests concurrently (at most
    `max_concurrency` in flight). Timeouts, connection errors, HTTP 429 and 5xx are retried
    with exponential backoff and jitter; when the retries are spent, or on any other HTTP
    error (401, 404, 400, ...), a `CustomerBackendError` names the role the backend plays
    (`role`: customer, salesperson or grader), the server, the model and what to check.

    `chat_template_kwargs` travel in the request body as vLLM's and SGLang's servers read
    them (`"chat_template_kwargs": {...}`, e.g. to turn a Qwen3 model's thinking off). A
    server that refuses the field by name (hosted APIs answer "Unrecognized request
    argument") is asked again without it, with a warning, and not sent it again; set
    `chat_template_kwargs=None` to never send it.

    Args:
        model: The model name the server knows.
        base_url: Server URL ending in /v1 (default: `$OPENAI_BASE_URL`).
        api_key: Key (default: `$OPENAI_API_KEY`, else "EMPTY" for local servers).
        max_concurrency: Requests in flight at once.
        timeout: Seconds per request.
        max_retries: Retries of a failed request.
        backoff: First retry delay in seconds; doubles each retry.
        sampling: Sampling parameters and reply limits.
        chat_template_kwargs: Chat template variables sent with every request (default
            `{"enable_thinking": False}`); None or {} sends none.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        max_concurrency: int = 16,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        sampling: SamplingConfig | None = None,
        chat_template_kwargs: dict[str, Any] | None = DEFAULT_CHAT_TEMPLATE_KWARGS,
    ) -> None:
        super().__init__(sampling, chat_template_kwargs)
        try:
            import openai  # noqa: F401
        except ImportError as exc:
            raise ImportError("the openai customer needs `pip install salesenv[openai]`") from exc
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not self.base_url:
            raise ValueError(
                "OpenAIChat needs a server: pass base_url= or set OPENAI_BASE_URL "
                "(for example http://127.0.0.1:8000/v1)"
            )
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("need max_concurrency >= 1, max_retries >= 0 and timeout > 0")
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._jitter = random.Random()
        # Cleared when the server refuses the field, so that it is not sent again.
        self._send_template_kwargs = bool(self.chat_template_kwargs)

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url}

    def generate(self, conversations: Sequence[list[Message]], seeds: Sequence[int]) -> list[str]:
        coroutine = self._generate_all(list(conversations), list(seeds))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        # Called from inside an event loop (a notebook): run ours in a worker thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    async def _generate_all(
        self, conversations: list[list[Message]], seeds: list[int]
    ) -> list[str]:
        from openai import AsyncOpenAI

        limit = asyncio.Semaphore(self.max_concurrency)
        async with AsyncOpenAI(
            base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=0
        ) as client:

            async def one(messages: list[Message], seed: int) -> str:
                async with limit:
                    return await self._complete(client, messages, seed)

            return list(
                await asyncio.gather(
                    *(one(m, s) for m, s in zip(conversations, seeds, strict=True))
                )
            )

    async def _complete(self, client, messages: list[Message], seed: int) -> str:
        import openai

        retryable = (
            openai.APITimeoutError,
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
        )
        last: Exception | None = None
        attempt = 0
        while attempt <= self.max_retries:
            sent_kwargs = self._send_template_kwargs
            try:
                response = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=self.sampling.temperature,
                    top_p=self.sampling.top_p,
                    max_tokens=self.sampling.max_new_tokens,
                    seed=seed,
                    extra_body=(
                        {"chat_template_kwargs": self.template_kwargs} if sent_kwargs else None
                    ),
                )
                return response.choices[0].message.content or "" if response.choices else ""
            except retryable as exc:
                last = exc
                if attempt < self.max_retries:
                    delay = self.backoff * 2**attempt
                    await asyncio.sleep(delay * (0.5 + random.random()))
            except openai.APIStatusError as exc:
                if sent_kwargs and _refuses_template_kwargs(exc):
                    self._stop_sending_template_kwargs(exc)
                    continue  # the same try again, without the field
                raise CustomerBackendError(
                    f"openai {self.role}: the server at {self.base_url} refused model "
                    f"{self.model!r} with HTTP {exc.status_code}: {exc.message}. Check the model "
                    "name, the API key and the request limits"
                    + (
                        _TEMPLATE_KWARGS_HINT
                        if sent_kwargs and exc.status_code in (400, 422)
                        else "."
                    )
                ) from exc
            attempt += 1
        raise CustomerBackendError(
            f"openai {self.role}: no answer from {self.base_url} for model {self.model!r} after "
            f"{self.max_retries + 1} tries ({type(last).__name__}: {last}). Check that the "
            "server is running and reachable, and its load."
        ) from last

    def _stop_sending_template_kwargs(self, exc: Exception) -> None:
        if self._send_template_kwargs:
            self._send_template_kwargs = False
            warnings.warn(
                f"openai {self.role}: the server at {self.base_url} does not take "
                f"chat_template_kwargs ({exc}); asking without them from now on. Set "
                "chat_template_kwargs=None to not send them.",
                stacklevel=2,
            )


_TEMPLATE_KWARGS_HINT = (
    "; this request also carried chat_template_kwargs (vLLM and SGLang servers take them): "
    "if the server does not, set chat_template_kwargs=None (in a config, e.g. "
    "customer.chat_template_kwargs=null)."
)


def _refuses_template_kwargs(exc: Exception) -> bool:
    """Whether an HTTP 400/422 answer names the chat_template_kwargs field as the problem."""
    status = getattr(exc, "status_code", None)
    return status in (400, 422) and "chat_template_kwargs" in str(exc)


#: The name before 0.2 (the class drives the salesperson and the graders too, not only the
#: customer); kept so that existing imports and configs keep working.
OpenAICustomer = OpenAIChat
